"""Reads for progress: one selector per page or endpoint, each a fixed number of queries."""

from __future__ import annotations

import uuid
from typing import Any

from accounts.models import User
from challenges.models import Attempt
from progress import leaderboard, rules
from skillquest.errors import NotFound

RECENT_ATTEMPTS = 10
RECENT_ATTEMPT_FIELDS = (
    "id", "status", "score", "xp_awarded", "started_at", "submitted_at", "awarded_at",
    "challenge__id", "challenge__title", "challenge__slug",
)  # fmt: skip


def user_progress(*, user_id: uuid.UUID) -> dict[str, Any]:
    user = (
        User.objects.filter(pk=user_id, is_active=True)
        .only("id", "username", "total_xp", "level", "is_active")
        .first()
    )
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    recent = list(
        Attempt.objects.filter(user_id=user.pk)
        .select_related("challenge")
        .only(*RECENT_ATTEMPT_FIELDS)
        .order_by("-started_at", "-id")[:RECENT_ATTEMPTS]
    )
    return {
        "user_id": user.pk,
        "username": user.username,
        "total_xp": user.total_xp,
        "level": user.level,
        "next_level_xp": rules.next_level_xp(user.level),
        "level_progress": rules.level_progress(user.total_xp),
        "rank": leaderboard.rank_for(user, "all"),
        "recent_attempts": recent,
    }
