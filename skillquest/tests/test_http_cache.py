"""Which answers a shared cache may keep (skillquest.http_cache): public with an ETag and 304 for the
anonymous leaderboards, `private, no-store` for anything a signed-in viewer sees."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import Client, RequestFactory
from rest_framework_simplejwt.tokens import AccessToken

from progress.ledger.services import xp_grant
from progress.tests.events.helpers import make_event
from skillquest.http_cache import PERSONAL, SHARED

BOARD = "/api/v1/leaderboard?period=all&limit=10"
PUBLIC_BOARDS = [
    BOARD,
    "/api/v1/leaderboard",
    "/api/v1/leaderboard?period=week",
    "/api/v1/leaderboard?period=month&offset=10",
    "/leaderboard/",
    "/leaderboard/?period=week",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_BOARDS)
def test_anonymous_boards_are_public_for_a_second_with_an_etag(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == SHARED
    assert response["ETag"].startswith('"')
    assert "Cookie" in response["Vary"] and "Authorization" in response["Vary"]
    assert not response.cookies


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_BOARDS)
def test_a_matching_if_none_match_is_304_and_a_stale_one_is_200(path):
    etag = Client().get(path)["ETag"]
    again = Client().get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    other = Client().get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content


@pytest.mark.django_db
def test_the_etag_follows_the_board(user, staff_user, django_capture_on_commit_callbacks):
    first = Client().get(BOARD)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):  # the board follows the grant on commit
        xp_grant(user_id=user.pk, amount=50, reason="test", actor=staff_user)
    # Django's cache of a rendered page (LEADERBOARD_CACHE_SECONDS) is off in tests.
    assert Client().get(BOARD)["ETag"] != first


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        *PUBLIC_BOARDS,
        "/leaderboard/?view=around",
        "/api/v1/leaderboard?around=me",
        "/api/v1/leaderboard?board=friends",
    ],
)
def test_a_signed_in_viewer_gets_private_no_store_and_no_etag(user, path):
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == PERSONAL
    assert "ETag" not in response


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", [BOARD, "/api/v1/leaderboard?around=me&k=2", "/api/v1/leaderboard?board=friends"]
)
def test_a_bearer_token_gets_private_no_store(user, path):
    token = AccessToken.for_user(user)
    response = Client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Cache-Control"] == PERSONAL
    assert "ETag" not in response
    # A 304 is never given for a personal answer, whatever the client remembers of the public one.
    etag = Client().get(BOARD)["ETag"]
    again = Client().get(path, headers={"Authorization": f"Bearer {token}", "If-None-Match": etag})
    assert again.status_code == 200 and again.content


@pytest.mark.django_db
def test_a_bad_token_still_never_reads_or_fills_the_shared_copy():
    response = Client().get(BOARD, headers={"Authorization": "Bearer not-a-token"})
    assert response["Cache-Control"] == PERSONAL


@pytest.mark.django_db
def test_an_anonymous_error_is_not_public():
    response = Client().get("/api/v1/leaderboard?period=century")
    assert response.status_code == 400
    assert "Cache-Control" not in response
    assert Client().get("/api/v1/leaderboard?around=me").get("Cache-Control") != SHARED


@pytest.mark.django_db
def test_an_anonymous_board_that_sets_a_cookie_is_private():
    """A message left for an anonymous visitor is shown once on the next page, which clears its
    cookie: that page is theirs alone."""
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(messages.INFO, "Your one-off message")
    carrier = HttpResponse()
    storage.update(carrier)
    client = Client()
    client.cookies["messages"] = carrier.cookies["messages"].value
    page = client.get("/leaderboard/")
    assert b"Your one-off message" in page.content
    assert page.cookies["messages"].value == ""  # shown once: the cookie is cleared
    assert page["Cache-Control"] == PERSONAL
    assert "ETag" not in page


@pytest.mark.django_db
def test_other_pages_of_a_signed_in_player_are_private_and_anonymous_ones_untouched(user):
    client = Client()
    client.force_login(user)
    assert client.get(f"/u/{user.username}/")["Cache-Control"] == PERSONAL
    assert "Cache-Control" not in Client().get("/challenges/")


@pytest.mark.django_db
def test_an_event_board_is_public_to_the_anonymous_and_private_to_a_player(user):
    event = make_event()
    path = f"/api/v1/events/{event.slug}/leaderboard"
    anonymous = Client().get(path)
    assert anonymous.status_code == 200
    assert anonymous["Cache-Control"] == SHARED
    assert Client().get(path, headers={"If-None-Match": anonymous["ETag"]}).status_code == 304
    token = AccessToken.for_user(user)
    assert Client().get(path, headers={"Authorization": f"Bearer {token}"})["Cache-Control"] == PERSONAL
    missing = Client().get("/api/v1/events/no-such-event/leaderboard")
    assert missing.status_code == 404 and missing.get("Cache-Control") != SHARED
