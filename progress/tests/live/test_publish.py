"""Pushing happens only after the change commits, and a channel layer that fails never breaks it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone
from redis import Redis

from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.ledger.services import xp_grant
from progress.live import layer as live_layer
from progress.live import publish as live
from progress.live.layer import LiveChannelLayer
from progress.live.publish import group_name, publish
from progress.models import Event, Notification, Quest
from progress.notifications.messages import message
from progress.tests.live.sockets import (
    ORIGIN,
    admitted,
    close_code,
    open_socket,
    received,
    run,
    session_cookie,
)
from progress.tests.notifications.test_notify import graded
from skillquest.tests.helpers import free_port, port_open, run_in_own_loop, wait_until
from skillquest.tests.processes import running
from skillquest.tests.test_service_endpoints import run_python


class RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_nothing_is_pushed_for_an_award_that_rolls_back_and_the_retry_is_pushed_once(user):
    cookie = session_cookie(user)
    attempt = graded(user, make_challenge(xp=150), score=100)

    def award_then_fail() -> None:
        with transaction.atomic():
            assert awards_process(attempt_ids=[attempt.pk])
            raise RolledBack

    async def scenario():
        listener = await open_socket(headers=[ORIGIN, cookie])
        assert await admitted(listener)
        with pytest.raises(RolledBack):
            await sync_to_async(award_then_fail)()
        assert await listener.receive_nothing(timeout=0.5)
        assert await sync_to_async(Notification.objects.count)() == 0  # the level-up went with it

        await sync_to_async(awards_process)(attempt_ids=[attempt.pk])
        xp, level = await received(listener, 2)
        assert (xp["type"], level["type"]) == ("xp_awarded", "level_up")
        await sync_to_async(awards_process)(attempt_ids=[attempt.pk])  # a replay awards and pushes nothing
        assert await listener.receive_nothing(timeout=0.5)
        await listener.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_an_event_bonus_is_pushed_and_a_completed_quest_is_kept_and_pushed(user):
    cookie = session_cookie(user)
    challenge = make_challenge(xp=100)
    now = timezone.now()
    event = Event.objects.create(
        name="Sprint", slug="sprint", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1),
        xp_multiplier=Decimal("1.50"),
    )  # fmt: skip
    event.challenges.set([challenge])
    Quest.objects.create(name="Warm-up", kind="pass_challenges", params={"count": 1}, reward_xp=20)
    graded(user, challenge, score=100)

    async def scenario():
        listener = await open_socket(headers=[ORIGIN, cookie])
        assert await admitted(listener)
        await sync_to_async(awards_process)()
        messages = {message["type"]: message for message in await received(listener, 4)}
        assert set(messages) == {"xp_awarded", "event_bonus", "level_up", "quest_completed"}
        bonus, quest = messages["event_bonus"], messages["quest_completed"]
        assert (bonus["id"], bonus["data"]["amount"], bonus["data"]["total_xp"]) == (None, 50, 150)
        assert (quest["data"]["name"], quest["data"]["reward_xp"], quest["data"]["total_xp"]) == (
            "Warm-up", 20, 170,
        )  # fmt: skip
        stored = await sync_to_async(_kept_ids)("quest_completed")
        assert stored == [quest["id"]]  # kept: in the inbox, resumable
        await listener.disconnect()

    run(scenario)


def _kept_ids(kind: str) -> list[int]:
    return list(Notification.objects.filter(type=kind).values_list("id", flat=True))


def _layer_on(settings, port: int) -> LiveChannelLayer:
    """The channel layer on the Redis at `port` (a server of the test's own, or nothing)."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYERS["default"]["BACKEND"],
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{port}/0", **settings.CHANNEL_LAYER_POOL}]},
        }
    }
    layer = get_channel_layer()
    assert isinstance(layer, LiveChannelLayer)
    return layer


def _pools_made(monkeypatch) -> list[asyncio.AbstractEventLoop]:
    """The event loop of each connection pool the channel layer makes from now on (each is a new
    connection)."""
    loops: list[asyncio.AbstractEventLoop] = []
    create_pool = live_layer.create_pool

    def spied(host):
        loops.append(asyncio.get_running_loop())
        return create_pool(host)

    monkeypatch.setattr(live_layer, "create_pool", spied)
    return loops


@pytest.mark.django_db(transaction=True)
def test_a_channel_layer_that_fails_is_logged_and_the_grant_stands(settings, user, staff_user, caplog):
    _layer_on(settings, free_port())  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="skillquest.live"):
        granted = xp_grant(user_id=user.pk, amount=10_000, reason="For the outage", actor=staff_user)

    user.refresh_from_db()
    assert granted.created and user.total_xp == 10_000
    assert list(Notification.objects.filter(user=user).values_list("type", flat=True)) == [
        "level_up",
        "xp_granted",
    ]
    assert [record.msg for record in caplog.records] == ["live_publish_failed"]


@pytest.mark.django_db(transaction=True)
def test_sockets_open_across_a_redis_restart_are_told_to_resume(settings, tmp_path, user, other_user, caplog):
    # Pub/sub drops what is published while the ws process's subscriber connection is down, and the
    # sockets would stay open none the wiser: when that connection comes back, each closes with
    # 1012 so that its page reconnects and resumes. Pushes reach a socket opened afterwards.
    port = free_port()
    _layer_on(settings, port)
    cookies = [session_cookie(user), session_cookie(other_user)]

    async def scenario(server):
        sockets = [await open_socket(headers=[ORIGIN, cookie]) for cookie in cookies]
        assert all([await admitted(socket) for socket in sockets])
        server.terminate()
        server.wait()
        with _redis_server(port, tmp_path / "again.log"):
            codes = [await close_code(socket) for socket in sockets]
            await _subscriber_on(port)
            for socket in sockets:
                await socket.disconnect()  # as a browser does on a close
            again = await open_socket(headers=[ORIGIN, cookies[0]])
            assert await admitted(again)
            assert await asyncio.to_thread(publish, [message(user.pk, "xp_granted", amount=5, reason="Back")])
            (frame,) = await received(again, 1)
            await again.disconnect()
        return codes, frame["data"]["amount"]

    with (
        caplog.at_level(logging.WARNING, logger="skillquest.live"),
        _redis_server(port, tmp_path / "redis.log") as server,
    ):
        codes, amount = run_in_own_loop(lambda: scenario(server))
    assert (codes, amount) == ([1012, 1012], 5)
    logged = [record.msg for record in caplog.records if record.name == "skillquest.live"]
    assert logged.count("live_layer_disconnected") == 1 and "live_layer_reconnected" in logged


@pytest.mark.django_db(transaction=True)
def test_sockets_gone_while_redis_was_away_leave_nothing_subscribed(settings, tmp_path, user, other_user):
    # A socket closed during the outage cannot UNSUBSCRIBE, and one opened then cannot SUBSCRIBE:
    # neither may be subscribed again by the reconnect, nor leave its queue in the process.
    port = free_port()
    layer = _layer_on(settings, port)
    cookies = [session_cookie(user), session_cookie(other_user)]

    async def scenario(server):
        staying, leaving = [await open_socket(headers=[ORIGIN, cookie]) for cookie in cookies]
        assert await admitted(staying) and await admitted(leaving)
        loop_layer = layer.for_this_loop()
        kept = sorted(_subscribed_names(loop_layer, staying_user=user.pk))
        server.terminate()
        server.wait()
        await leaving.disconnect()
        with pytest.raises(Exception):  # the layer's failure, whichever Redis error it is
            await open_socket(headers=[ORIGIN, cookies[1]])
        with _redis_server(port, tmp_path / "again.log"):
            assert await close_code(staying) == 1012
            await _subscriber_on(port)
            subscribed = sorted(await asyncio.to_thread(Redis(port=port).pubsub_channels))
            local = len(loop_layer.channels), len(loop_layer.groups)
            await staying.disconnect()
        return kept, subscribed, local

    with _redis_server(port, tmp_path / "redis.log") as server:
        kept, subscribed, local = run_in_own_loop(lambda: scenario(server))
    assert len(kept) == 2 and subscribed == kept  # the staying socket's channel and group, nothing else
    assert local == (1, 1)


def _subscribed_names(loop_layer, *, staying_user: uuid.UUID) -> set[bytes]:
    """The staying socket's two names: its group's channel and its own channel (the one in that group)."""
    group = loop_layer._get_group_channel_name(group_name(staying_user))
    return {group.encode(), *(name.encode() for name in loop_layer.groups[group])}


async def _subscriber_on(port: int) -> None:
    """Until the layer's subscriber connection is on the Redis at `port` (after a restart, a first
    reconnect may reach the old server as it shuts down; that one resyncs too)."""
    await asyncio.to_thread(
        wait_until, lambda: Redis(port=port).client_list(_type="pubsub"), what="the layer's subscriber"
    )


def test_a_burst_of_connects_past_a_hundred_all_join_their_groups():
    # Every page reconnecting at once (a ws process restarted) adds each socket to its group at the
    # same moment; redis-py 8 refuses an asyncio pool's 101st connection by default.
    async def scenario():
        layer = get_channel_layer()
        assert layer is not None
        channels = [await layer.new_channel() for _ in range(150)]
        groups = [f"burst-{index}" for index in range(150)]
        await asyncio.gather(
            *(layer.group_add(group, name) for group, name in zip(groups, channels, strict=True))
        )
        await layer.group_send(groups[-1], {"type": "hi"})
        return await asyncio.wait_for(layer.receive(channels[-1]), 10)

    assert run_in_own_loop(scenario) == {"type": "hi"}


@pytest.mark.django_db(transaction=True)
def test_a_process_publishes_every_batch_through_one_connection_pool(user, monkeypatch):
    # An award job publishes after each batch; a fresh event loop per publish made a fresh pool and a
    # Redis connection each time, which cost more CPU than the sending (bench/README.md, issue 15).
    assert isinstance(get_channel_layer(), LiveChannelLayer)  # the suite's layer, as in production
    pools_of = _pools_made(monkeypatch)
    cookie = session_cookie(user)
    grants = [message(user.pk, "xp_granted", amount=amount, reason="Thanks") for amount in range(1, 21)]

    async def scenario():
        listener = await open_socket(headers=[ORIGIN, cookie])  # its consumer's pool is on this loop
        assert await admitted(listener)
        # From a plain thread, as a worker's job publishes (not from an async caller's thread).
        assert await asyncio.to_thread(lambda: all(publish([grant]) for grant in grants))
        got = await received(listener, len(grants))
        assert [frame["data"]["amount"] for frame in got] == list(range(1, 21))  # each once, in order
        await listener.disconnect()
        return asyncio.get_running_loop()

    sockets_loop = run_in_own_loop(scenario)
    publishers = [loop for loop in pools_of if loop is not sockets_loop]
    assert len(publishers) <= 1  # at most the first publish of this process made one


def test_a_forked_child_publishes_on_a_loop_of_its_own():
    # The publisher's thread does not survive a fork (RQ's scheduler is a forked worker): the child
    # must not hand its messages to a loop nobody runs, and wait out the timeout.
    script = """
import django, os, time, uuid; django.setup()
from progress.live import publish as live
from progress.notifications.messages import message
sent = [message(uuid.uuid4(), 'xp_granted', amount=1, reason='x')]
assert live.publish(sent)
parent_loop = live._publisher._loop
pid = os.fork()
if pid == 0:
    started = time.monotonic()
    ok = live.publish(sent) and live._publisher._loop is not parent_loop and time.monotonic() - started < 5
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print('child', os.waitstatus_to_exitcode(status), 'parent', live.publish(sent))
"""
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("child 0 parent True"), result.stdout


def _pushed(layer: LiveChannelLayer, player: uuid.UUID, amount: int) -> tuple[bool, int]:
    """Publish a grant to `player` while a socket of theirs listens: (published, amount received)."""

    async def scenario():
        channel = await layer.new_channel()  # the player's socket, as its consumer listens
        await layer.group_add(group_name(player), channel)
        grant = message(player, "xp_granted", amount=amount, reason="Thanks")
        sent = await asyncio.to_thread(publish, [grant])
        frame = await asyncio.wait_for(layer.receive(channel), 5)
        return sent, frame["message"]["data"]["amount"]

    return run_in_own_loop(scenario)


def _redis_server(port: int, log: Path):
    """A redis-server of the test's own on `port`, for a `with` block."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return running(command, log=log, ready=lambda: port_open(port), what="redis-server")


def test_pushes_go_on_after_the_layers_redis_restarts(settings, tmp_path, caplog):
    # The publisher loop keeps its connections, and a restart leaves them dead: the first push after
    # it must reach its player all the same, not fail on them.
    port = free_port()
    layer, player = _layer_on(settings, port), uuid.uuid4()
    with caplog.at_level(logging.WARNING, logger="skillquest.live"):
        with _redis_server(port, tmp_path / "redis.log"):
            assert _pushed(layer, player, 1) == (True, 1)
        with _redis_server(port, tmp_path / "again.log"):
            assert _pushed(layer, player, 2) == (True, 2)
    assert [record.msg for record in caplog.records if record.name == "skillquest.live"] == []


def test_a_layer_that_stops_answering_costs_one_short_publish(settings, tmp_path, caplog, monkeypatch):
    # A host that is gone without closing its connections (a crash, a partition; here the server is
    # stopped) answers nothing: the publish gives up after its steps' short timeouts, and later ones
    # go out on fresh connections once it answers again.
    monkeypatch.setattr(live, "SENDS_TIMEOUT_SECONDS", 0.5)
    port = free_port()
    layer, player = _layer_on(settings, port), uuid.uuid4()
    with _redis_server(port, tmp_path / "redis.log") as server:
        assert _pushed(layer, player, 1) == (True, 1)
        os.kill(server.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="skillquest.live"):
                assert not publish([message(player, "xp_granted", amount=2, reason="Lost")])
            took = time.monotonic() - started
        finally:
            os.kill(server.pid, signal.SIGCONT)
        # The sends' 0.5 s: the layer's connections have no read timeout, so without it the publish
        # would wait for TCP keepalive to give up on the host (~25 s).
        assert took < 2, took
        assert [record.msg for record in caplog.records if record.name == "skillquest.live"] == [
            "live_publish_failed"
        ]
        assert _pushed(layer, player, 3) == (True, 3)


def test_connections_idle_too_long_are_replaced_before_a_publish(settings, tmp_path, monkeypatch):
    # A server's `timeout`, a NAT or a load balancer may close an idle connection without a word;
    # past IDLE_CONNECTIONS_SECONDS the publisher opens new ones rather than trust the old.
    port = free_port()
    _layer_on(settings, port)
    player = uuid.uuid4()
    pools = _pools_made(monkeypatch)
    with _redis_server(port, tmp_path / "redis.log"):
        grant = [message(player, "xp_granted", amount=1, reason="Thanks")]
        assert publish(grant) and publish(grant)
        assert len(pools) == 1  # kept while in use
        monkeypatch.setattr(live, "IDLE_CONNECTIONS_SECONDS", 0.05)
        time.sleep(0.1)
        assert publish(grant)
        assert len(pools) == 2  # idle too long: replaced
