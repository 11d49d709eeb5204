"""Reads for progress: one selector per page or endpoint, each a fixed number of queries."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, timedelta
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


def admin_stats(*, days: int = STATS_DAYS, today: date | None = None) -> dict[str, Any]:
    """Totals and zero-filled per-UTC-day series for the staff dashboard and `GET /api/v1/admin/stats`.

    A fixed handful of aggregate queries, whatever the size of the tables.
    """
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    window = [first + timedelta(days=offset) for offset in range(days)]
    utc = zoneinfo.ZoneInfo("UTC")
    by_status = dict(Attempt.objects.values_list("status").annotate(n=Count("id")).order_by())
    challenges = Challenge.objects.aggregate(
        total=Count("id"), published=Count("id", filter=Q(published=True))
    )
    new_users = dict(
        User.objects.filter(created_at__date__gte=first, created_at__date__lte=today, is_staff=False)
        .annotate(day=TruncDate("created_at", tzinfo=utc))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    xp_per_day = dict(
        Attempt.objects.filter(awarded_at__date__gte=first, awarded_at__date__lte=today)
        .annotate(day=TruncDate("awarded_at", tzinfo=utc))
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


HEATMAP_WEEKS = 12


def _user_zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def heatmap_first_day(today: date, *, weeks: int = HEATMAP_WEEKS) -> date:
    """The Monday that starts the heatmap: its last column is the current week."""
    return today - timedelta(days=today.weekday(), weeks=weeks - 1)


def activity_by_day(*, user: User, first: date, today: date) -> dict[date, int]:
    """Submitted attempts per local day (the player's timezone) from `first` to `today`, in one query."""
    zone = _user_zone(user)
    rows = (
        Attempt.objects.filter(
            user_id=user.pk,
            submitted_at__isnull=False,
            submitted_at__date__gte=first - timedelta(days=1),  # widened: the bound is in UTC
        )
        .annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .values("day")
        .annotate(count=Count("id"))
    )
    return {row["day"]: row["count"] for row in rows if first <= row["day"] <= today}


def player_overview(*, user: User) -> dict[str, Any]:
    """Level and XP bar figures for a player, from the user row alone (no query)."""
    floor, ceiling = rules.level_floor_xp(user.level), rules.next_level_xp(user.level)
    return {
        "total_xp": user.total_xp,
        "level": user.level,
        "level_floor_xp": floor,
        "next_level_xp": ceiling,
        "xp_to_next_level": max(ceiling - user.total_xp, 0),
        "level_percent": round(rules.level_progress(user.total_xp) * 100, 1),
    }


def profile_page(*, username: str, viewer: User | None) -> dict[str, Any]:
    """Everything the profile page shows: a fixed number of queries whatever the history's size."""
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    zone = _user_zone(user)
    today = timezone.now().astimezone(zone).date()
    recent = list(
        Attempt.objects.filter(user_id=user.pk)
        .select_related("challenge")
        .only(*RECENT_ATTEMPT_FIELDS)
        .order_by("-started_at", "-id")[:RECENT_ATTEMPTS]
    )
    return {
        "profile_user": user,
        "is_own": bool(viewer is not None and viewer.is_authenticated and viewer.pk == user.pk),
        "overview": player_overview(user=user),
        "recent_attempts": recent,
        "activity": activity_by_day(user=user, first=heatmap_first_day(today), today=today),
        "today": today,
    }
