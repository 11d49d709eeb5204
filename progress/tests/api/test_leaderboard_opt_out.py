"""Opting out of public boards (`leaderboard_visible`): off every board at once, back on opting in."""

from __future__ import annotations

import pytest
from django.utils import timezone

from progress.boards import services as board_services
from progress.boards.backends import RedisBackend, member
from progress.boards.windows import current_windows
from progress.tests.boards.factory import award, challenge, player
from skillquest.tests.helpers import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/leaderboard"


@pytest.fixture
def ada():
    now = timezone.now()
    ada = player("ada", (100, now))
    award(ada, 40, now, challenge("regex-golf", ("regex",)))
    player("bob", (50, now))
    board_services.rebuild()
    return ada


def keys_holding(user) -> set[str]:
    redis = RedisBackend().redis
    name = member(username=user.username, user_id=user.pk)
    keys = [key.decode() if isinstance(key, bytes) else str(key) for key in redis.keys("{leaderboard}:*")]
    return {key for key in keys if redis.zscore(key, name) is not None}


def names(response) -> list[str]:
    return [row["username"] for row in response.json()["results"]]


def test_opting_out_takes_the_player_off_every_board_on_commit(ada, django_capture_on_commit_callbacks):
    every_board = {window.key for window in current_windows(tags=["regex"])}
    assert keys_holding(ada) == every_board
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ada).patch("/api/v1/auth/me", {"leaderboard_visible": False}, format="json")
    assert (response.status_code, response.json()["leaderboard_visible"]) == (200, False)
    assert keys_holding(ada) == set()
    anonymous = client_for(None)
    assert names(anonymous.get(URL)) == ["bob"]
    assert names(anonymous.get(URL, {"tag": "regex"})) == []


def test_a_hidden_player_keeps_their_own_rank_and_nobody_else_sees_it(
    ada, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(ada).patch("/api/v1/auth/me", {"leaderboard_visible": False}, format="json")
    progress = f"/api/v1/users/{ada.pk}/progress"
    assert client_for(ada).get(progress).json()["rank"] == 1
    assert client_for(None).get(progress).json()["rank"] is None
    around = client_for(ada).get(URL, {"around": "me", "k": "1"}).json()
    assert around["me"] == {"rank": 1, "xp": 140, "on_board": False}
    assert [(r["rank"], r["username"]) for r in around["results"]] == [(1, "ada"), (1, "bob")]


def test_opting_back_in_puts_the_player_back_on_every_current_board(ada, django_capture_on_commit_callbacks):
    client = client_for(ada)
    with django_capture_on_commit_callbacks(execute=True):
        client.patch("/api/v1/auth/me", {"leaderboard_visible": False}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.patch("/api/v1/auth/me", {"leaderboard_visible": True}, format="json").status_code == 200
        )
    assert keys_holding(ada) == {window.key for window in current_windows(tags=["regex"])}
    assert names(client_for(None).get(URL)) == ["ada", "bob"]


def test_saving_the_same_choice_again_schedules_nothing(ada, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        client_for(ada).patch("/api/v1/auth/me", {"leaderboard_visible": True}, format="json")
    assert callbacks == []


def test_the_profile_page_has_the_switch(client, ada, django_capture_on_commit_callbacks):
    client.force_login(ada)
    form = {"email": ada.email, "timezone": "UTC", "display_name": "", "bio": ""}  # the box left unticked
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/profile/", form).status_code == 302
    ada.refresh_from_db()
    assert ada.leaderboard_visible is False
    assert keys_holding(ada) == set()
    assert 'name="leaderboard_visible"' in client.get("/accounts/profile/").content.decode()
