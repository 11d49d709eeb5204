"""Reading the ledger: a player's history, and the check that every projection equals its ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any, cast

from django.db import connection
from django.db.models import BigIntegerField, Field, IntegerField, Sum
from django.db.models.functions import TruncDate

from challenges.models import Attempt, Challenge
from progress.ledger.sql import LEVEL_SQL
from progress.models import XpEntry
from skillquest import sql


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One ledger entry as the player's history shows it: no actor, the challenge it paid for."""

    id: uuid.UUID
    amount: int
    kind: str
    reason: str
    explanation: dict[str, Any]
    created_at: datetime
    challenge_id: uuid.UUID | None
    challenge_title: str | None


_HISTORY_FIELDS: list[Field] = [
    *(
        cast(Field, XpEntry._meta.get_field(name))
        for name in ("id", "amount", "kind", "reason", "explanation", "created_at")
    ),
    Challenge._meta.pk,
    Challenge._meta.get_field("title"),
]
# The page first (index `xpentry_user_recent`, counted by the window before LIMIT cuts it), then the
# challenges of that page's rows only; the player's history and its total in one round trip.
_HISTORY_PAGE = sql.Statement(
    lambda table: (
        "SELECT e.id, e.amount, e.kind, e.reason, e.explanation, e.created_at, c.id, c.title, e.total"  # noqa: S608 (model metadata only)
        " FROM (SELECT id, amount, kind, reason, explanation, created_at, attempt_id, COUNT(*) OVER () total"
        f" FROM {table(XpEntry)} WHERE user_id = %s"
        " ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s) e"
        f" LEFT JOIN {table(Attempt)} a ON a.id = e.attempt_id"
        f" LEFT JOIN {table(Challenge)} c ON c.id = a.challenge_id"
        " ORDER BY e.created_at DESC, e.id DESC"
    ),
    params=[XpEntry._meta.get_field("user"), IntegerField(), IntegerField()],
)


def xp_history_page(*, user_id: uuid.UUID, limit: int, offset: int) -> tuple[list[HistoryEntry], int]:
    """A page of the player's entries, newest first, and how many entries they have (0 if the page
    is empty): one statement, for `skillquest.api.CountedPaginator`."""
    rows = sql.fetch_values(_HISTORY_PAGE, [user_id, limit, offset], [*_HISTORY_FIELDS, BigIntegerField()])
    return [HistoryEntry(*row[:-1]) for row in rows], (rows[0][-1] if rows else 0)


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
    # The award's own entry, not the event bonus that points at the same attempt.
    rows = XpEntry.objects.filter(attempt_id__in=attempt_ids, kind=XpEntry.Kind.ATTEMPT).values_list(
        "attempt_id", "explanation"
    )
    return dict(rows)
