"""The badge catalogue the evaluator's tests share: one badge of each classic condition type."""

from __future__ import annotations

import pytest

from progress.models import UserBadge


@pytest.fixture
def catalogue(make_badge):
    return {
        "first": make_badge("First Steps", {"type": "attempt_count", "count": 1}),
        "xp": make_badge("Conqueror", {"type": "xp", "threshold": 1000}),
        "level": make_badge("Level 3", {"type": "level", "level": 3}),
        "easy": make_badge("Two Easy", {"type": "challenges_completed", "count": 2, "difficulty": "easy"}),
        "sql": make_badge("SQL Adept", {"type": "challenges_completed", "count": 2, "tag": "sql"}),
        "streak": make_badge("Streak", {"type": "consecutive_days", "days": 3}),
    }


def held(user) -> set[str]:
    """Slugs of the badges the player holds."""
    return set(UserBadge.objects.filter(user=user).values_list("badge__slug", flat=True))
