"""Reading the ledger: a player's history, and the check that every projection equals its ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from django.db import connection
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import TruncDate

from progress.ledger.sql import LEVEL_SQL
from progress.models import XpEntry


def xp_history(*, user_id: uuid.UUID) -> QuerySet[XpEntry]:
    """The player's entries, newest first (index `xpentry_user_recent`), each with its challenge."""
    return (
        XpEntry.objects.filter(user_id=user_id)
        .annotate(challenge_ref=F("attempt__challenge_id"), challenge_title=F("attempt__challenge__title"))
        .only("id", "amount", "kind", "reason", "explanation", "created_at")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Mismatch:
    user_id: uuid.UUID
    username: str
    total_xp: int
    level: int
    ledger_xp: int
    ledger_level: int


LEDGER_LEVEL = LEVEL_SQL.format(total="COALESCE(l.total, 0)")
MISMATCH_SQL = f"""
SELECT u.id, u.username, u.total_xp, u.level, COALESCE(l.total, 0), {LEDGER_LEVEL}
FROM accounts_user u
LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM progress_xpentry GROUP BY user_id) l ON l.user_id = u.id
WHERE u.total_xp <> COALESCE(l.total, 0) OR u.level <> {LEDGER_LEVEL}
ORDER BY u.username
"""  # noqa: S608 (only module constants are interpolated)


def ledger_mismatches() -> list[Mismatch]:
    """Players whose total or level is not what their ledger sums to (none, unless a bug wrote one)."""
    with connection.cursor() as cursor:
        cursor.execute(MISMATCH_SQL)
        return [Mismatch(uuid.UUID(str(row[0])), *row[1:]) for row in cursor.fetchall()]


def xp_by_day(*, user_id: uuid.UUID, first: date, zone: tzinfo) -> tuple[int, dict[date, int]]:
    """The player's total before `first` and their XP change on each later (local) day: two queries."""
    start = datetime.combine(first, time.min, tzinfo=zone)
    entries = XpEntry.objects.filter(user_id=user_id)
    before = entries.filter(created_at__lt=start).aggregate(total=Sum("amount"))["total"] or 0
    days = (
        entries.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(xp=Sum("amount"))
        .order_by("day")
    )
    return before, {row["day"]: row["xp"] for row in days}


def attempt_explanations(*, attempt_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Each attempt's ledger explanation ("why this XP"), for the attempts that paid something."""
    rows = XpEntry.objects.filter(attempt_id__in=attempt_ids).values_list("attempt_id", "explanation")
    return dict(rows)
