"""Who may listen on /ws/live/, what each socket hears, and the resume after a reconnect."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels import consumer as channels_consumer
from channels.db import aclose_old_connections
from channels.testing import WebsocketCommunicator

from accounts.services import user_sign_out_everywhere
from challenges.tests.helpers import make_challenge, start, submit
from progress.ledger.services import xp_grant
from progress.live import tickets
from progress.live.consumers import REFUSED, THROTTLED
from progress.models import Badge
from progress.tests.live.sockets import (
    ORIGIN,
    admitted,
    burst_worker,
    close_code,
    open_socket,
    received,
    run,
    session_cookie,
)
from skillquest.asgi import application

TICKET = "/api/v1/live/ticket"


def ticket_for(client, *, lifetime: int = 30) -> str:
    response = client.post(TICKET)
    assert response.status_code == 200, response.content
    assert response.json()["expires_in"] == lifetime
    return response.json()["ticket"]


@pytest.mark.django_db(transaction=True)
def test_a_socket_without_a_session_or_ticket_is_closed_with_4401():
    async def scenario():
        socket = await open_socket(headers=[ORIGIN])
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_page_of_ours_with_a_session_is_admitted(user):
    cookie = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[ORIGIN, cookie])
        assert await admitted(socket)
        await socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [b"https://evil.example", b"http://testserver.evil.example", b"null", b"file://"],
)
def test_a_session_cookie_from_another_origin_is_refused(user, origin):
    cookie = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[(b"origin", origin), cookie])
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_session_cookie_without_an_origin_is_refused(user):
    """A cookie that comes without an Origin did not come from a browser page."""
    cookie = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[cookie])
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_an_origin_in_csrf_trusted_origins_is_admitted(settings, user):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.skillquest.example"]
    cookie = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[(b"origin", b"https://app.skillquest.example"), cookie])
        assert await admitted(socket)
        await socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_session_signed_out_everywhere_is_refused(user):
    cookie = session_cookie(user)
    user_sign_out_everywhere(user=user)

    async def scenario():
        socket = await open_socket(headers=[ORIGIN, cookie])
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_ticket_admits_once(auth_client):
    ticket = ticket_for(auth_client)

    async def scenario():
        first = await open_socket(f"/ws/live/?ticket={ticket}")  # an API client sends no Origin
        assert await admitted(first)
        again = await open_socket(f"/ws/live/?ticket={ticket}")
        assert await close_code(again) == REFUSED
        await first.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ticket", ["", "made-up", "x" * 500])
def test_an_unknown_ticket_is_refused(ticket):
    async def scenario():
        socket = await open_socket(f"/ws/live/?ticket={ticket}")
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_ticket_expires(auth_client, monkeypatch):
    monkeypatch.setattr(tickets, "TICKET_SECONDS", 1)  # Redis expires it, as it does after 30 s
    ticket = ticket_for(auth_client, lifetime=1)
    time.sleep(1.3)

    async def scenario():
        socket = await open_socket(f"/ws/live/?ticket={ticket}")
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_ticket_from_another_origin_is_refused(auth_client):
    ticket = ticket_for(auth_client)

    async def scenario():
        socket = await open_socket(
            f"/ws/live/?ticket={ticket}", headers=[(b"origin", b"https://evil.example")]
        )
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_connects_are_limited_per_player(rates, user, other_user):
    rates(live_connect="2/minute")
    alice, bob = session_cookie(user), session_cookie(other_user)

    async def scenario():
        sockets = [await open_socket(headers=[ORIGIN, alice]) for _ in range(2)]
        for socket in sockets:
            assert await admitted(socket)
        third = await open_socket(headers=[ORIGIN, alice])
        output = await third.receive_output(timeout=5)
        assert (output["type"], output["code"]) == ("websocket.close", THROTTLED)
        assert output["reason"].startswith("retry in ")
        other = await open_socket(headers=[ORIGIN, bob])  # another player's budget is their own
        assert await admitted(other)
        for socket in [*sockets, other]:
            await socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_another_path_under_ws_is_refused_at_the_handshake():
    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/other/", headers=[ORIGIN])
        connected, _ = await socket.connect(timeout=5)
        assert not connected

    run(scenario)


@pytest.fixture
def badges(db):
    Badge.objects.create(
        name="First", slug="first", icon="👣", condition={"type": "attempt_count", "count": 1}
    )


@pytest.mark.serial  # starts a worker process
@pytest.mark.django_db(transaction=True)
def test_each_player_hears_only_their_own_messages(user, other_user, staff_user, auth_client, badges):
    """Two sockets; an award for alice through the real queue and a worker process, then a grant for bob."""
    ticket = ticket_for(auth_client)
    bob = session_cookie(other_user)
    attempt_id = start(auth_client, make_challenge(xp=150))
    assert submit(auth_client, attempt_id, score=100).status_code == 200  # schedules the job on commit

    async def scenario():
        alice_socket = await open_socket(f"/ws/live/?ticket={ticket}")
        bob_socket = await open_socket(headers=[ORIGIN, bob])
        assert await admitted(alice_socket) and await admitted(bob_socket)

        await sync_to_async(burst_worker)()  # a real RQ worker process runs the award job
        xp, level, badge = await received(alice_socket, 3)
        assert (xp["type"], xp["id"], xp["data"]) == (
            "xp_awarded",
            None,
            {"attempt_id": attempt_id, "amount": 150, "total_xp": 150},
        )
        assert (level["type"], level["data"]) == ("level_up", {"level": 2})
        assert badge["type"] == "badge_awarded"
        assert badge["data"]["badge"] == {"slug": "first", "name": "First", "icon": "👣", "description": ""}
        assert level["id"] < badge["id"]
        assert set(xp) == {"id", "type", "created_at", "data"}
        assert await bob_socket.receive_nothing(timeout=0.5)

        await sync_to_async(xp_grant)(user_id=other_user.pk, amount=5, reason="Well played", actor=staff_user)
        [granted] = await received(bob_socket, 1)
        assert (granted["type"], granted["data"]) == ("xp_granted", {"amount": 5, "reason": "Well played"})
        assert await alice_socket.receive_nothing(timeout=0.5)
        await alice_socket.disconnect()
        await bob_socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_resume_sends_what_came_after_the_last_id_in_order(user, other_user, staff_user):
    ids = []
    for amount in (1, 2, 3):
        xp_grant(user_id=user.pk, amount=amount, reason=f"Grant {amount}", actor=staff_user)
        ids.append(user.notifications.latest("id").pk)
    xp_grant(user_id=other_user.pk, amount=7, reason="Not alice's", actor=staff_user)
    alice = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[ORIGIN, alice])
        await socket.send_json_to({"type": "resume", "last_id": ids[0]})
        missed = await received(socket, 2)
        assert [(m["id"], m["data"]["amount"]) for m in missed] == [(ids[1], 2), (ids[2], 3)]
        assert await socket.receive_nothing(timeout=0.3)
        # Asking again from the start sends only what this socket has not had yet.
        await socket.send_json_to({"type": "resume", "last_id": 0})
        [first] = await received(socket, 1)
        assert first["id"] == ids[0]
        await socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"type": "resume"}', '{"type": "resume", "last_id": -1}',
     '{"type": "resume", "last_id": true}', '{"type": "resume", "last_id": 99999999999999999999}',
     json.dumps({"type": "resume", "last_id": 1, "pad": "x" * 2000})],
)  # fmt: skip
def test_a_message_the_socket_cannot_use_gets_an_error_and_the_socket_stays(user, text):
    cookie = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[ORIGIN, cookie])
        await socket.send_to(text_data=text)
        reply = json.loads(await socket.receive_from(timeout=5))
        assert reply["type"] == "error" and reply["id"] is None
        assert reply["data"]["code"] == "bad_request"
        assert await admitted(socket)
        await socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_user_who_is_deactivated_cannot_redeem_a_ticket(auth_client, user):
    ticket = ticket_for(auth_client)
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    async def scenario():
        socket = await open_socket(f"/ws/live/?ticket={ticket}")
        assert await close_code(socket) == REFUSED

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_push_goes_straight_to_its_handler_and_a_client_message_through_channels(
    user, staff_user, monkeypatch
):
    hops: list[str] = []

    async def counted() -> None:
        hops.append("hop")
        await aclose_old_connections()

    monkeypatch.setattr(channels_consumer, "aclose_old_connections", counted)
    alice = session_cookie(user)

    async def scenario():
        socket = await open_socket(headers=[ORIGIN, alice])
        assert await admitted(socket)  # a client message: Channels closes stale connections first
        assert hops
        before = len(hops)
        await sync_to_async(xp_grant)(user_id=user.pk, amount=5, reason="Pushed", actor=staff_user)
        [pushed] = await received(socket, 1)
        assert (pushed["type"], pushed["data"]["amount"]) == ("xp_granted", 5)
        assert len(hops) == before  # no thread hop for a push: it reads no database
        await socket.disconnect()

    run(scenario)
