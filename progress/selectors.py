"""Reads for progress: one selector per page or endpoint, each a fixed number of queries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt, Challenge
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


STATS_DAYS = 14


def _per_day(rows: dict, days: list) -> list[dict[str, Any]]:
    return [{"day": day, "value": int(rows.get(day) or 0)} for day in days]


def admin_stats(*, days: int = STATS_DAYS) -> dict[str, Any]:
    """Totals and 14-day series for the staff dashboard and `GET /api/v1/admin/stats`."""
    today = timezone.now().date()
    window = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = timezone.now() - timedelta(days=days)
    by_status = dict(Attempt.objects.values_list("status").annotate(n=Count("id")).order_by())
    challenges = Challenge.objects.aggregate(
        total=Count("id"), published=Count("id", filter=Q(published=True))
    )
    new_users = dict(
        User.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    xp_per_day = dict(
        Attempt.objects.filter(awarded_at__gte=since)
        .annotate(day=TruncDate("awarded_at"))
        .values_list("day")
        .annotate(xp=Sum("xp_awarded"))
        .order_by()
    )
    return {
        "users": User.objects.count(),
        "challenges_published": challenges["published"],
        "challenges_total": challenges["total"],
        "attempts_by_status": {choice: by_status.get(choice, 0) for choice in Attempt.Status.values},
        "xp_distributed": User.objects.aggregate(total=Sum("total_xp"))["total"] or 0,
        "pending_awards": Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True).count(),
        "new_users_per_day": _per_day(new_users, window),
        "xp_awarded_per_day": _per_day(xp_per_day, window),
    }
