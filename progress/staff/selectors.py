"""Reads for staff: the dashboard's and `GET /api/v1/admin/stats`' totals and daily series."""

from __future__ import annotations

import zoneinfo
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt, Challenge

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
        "pending_awards": Attempt.objects.award_pending().count(),
        "new_users_per_day": _per_day(new_users, window),
        "xp_awarded_per_day": _per_day(xp_per_day, window),
    }
