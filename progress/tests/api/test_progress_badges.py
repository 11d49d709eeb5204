from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from progress.models import UserBadge

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(make_badge):
    return {
        "first": make_badge("First Steps", {"type": "attempt_count", "count": 1}),
        "xp": make_badge("Conqueror", {"type": "xp", "threshold": 1000}),
        "level": make_badge("Level 3", {"type": "level", "level": 3}),
        "sql": make_badge("SQL Adept", {"type": "challenges_completed", "count": 2, "tag": "sql"}),
        "streak": make_badge("Streak", {"type": "consecutive_days", "days": 7}),
        "retired": make_badge("Retired", {"type": "xp", "threshold": 1}, is_active=False),
    }


def history(user, make_attempt, make_challenge, days: int) -> None:
    now = timezone.now()
    sql = make_challenge("Select", tags=["sql"])
    for n in range(days):
        make_attempt(user, now - timedelta(days=n), challenge=sql if n == 0 else None)


def test_progress_shows_streaks_badges_and_badge_progress(
    api_client, user, catalogue, make_attempt, make_challenge
):
    user.total_xp, user.level = 250, 2
    user.save()
    history(user, make_attempt, make_challenge, days=3)
    award = UserBadge.objects.create(user=user, badge=catalogue["first"])
    data = api_client.get(f"/api/v1/users/{user.id}/progress").json()
    assert data["current_streak"] == 3
    assert data["longest_streak"] == 3
    assert [(b["badge"]["slug"], b["awarded_at"]) for b in data["badges"]] == [
        ("first-steps", award.awarded_at.isoformat().replace("+00:00", "Z"))
    ]
    progress = {
        entry["badge"]["slug"]: (entry["current"], entry["target"]) for entry in data["badge_progress"]
    }
    assert progress == {
        "conqueror": (250, 1000),
        "level-3": (2, 3),
        "sql-adept": (1, 2),
        "streak": (3, 7),
    }


def test_an_earned_inactive_badge_is_still_shown(api_client, user, catalogue):
    UserBadge.objects.create(user=user, badge=catalogue["retired"])
    data = api_client.get(f"/api/v1/users/{user.id}/progress").json()
    assert [b["badge"]["slug"] for b in data["badges"]] == ["retired"]
    assert "retired" not in {entry["badge"]["slug"] for entry in data["badge_progress"]}


def test_a_new_player_has_no_streak(api_client, user, catalogue):
    data = api_client.get(f"/api/v1/users/{user.id}/progress").json()
    assert (data["current_streak"], data["longest_streak"], data["badges"]) == (0, 0, [])
    assert len(data["badge_progress"]) == 5


@pytest.mark.parametrize("days", [2, 40])
def test_progress_takes_a_fixed_number_of_queries(
    api_client, user, catalogue, make_attempt, make_challenge, django_assert_num_queries, days
):
    """User and recent attempts in one, badges (earned and active in one), passed days, completed
    challenges."""
    history(user, make_attempt, make_challenge, days=days)
    UserBadge.objects.create(user=user, badge=catalogue["first"])
    with django_assert_num_queries(4):
        response = api_client.get(f"/api/v1/users/{user.id}/progress")
    assert response.status_code == 200
    assert response.json()["longest_streak"] == days
    assert len(response.json()["recent_attempts"]) == min(days, 10)


def test_unknown_user_progress_is_404(api_client, catalogue):
    assert api_client.get("/api/v1/users/00000000-0000-0000-0000-000000000000/progress").status_code == 404
