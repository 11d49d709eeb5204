"""The one statistics loader for badge conditions: many players at once (one player is a batch of one).

It serves the award job (the batch's players), re-evaluation, recalculation on SQLite, and the progress
endpoint (streaks and badge progress), so every path measures a player the same way:

- the user row's `total_xp` and `level` (already loaded by the caller);
- per local calendar day of the player's passed attempts (their current zone, see progress.streaks):
  how many passed and the XP they paid, one query per distinct zone among the players; the date
  conversion happens in the database, so one row per active day leaves it however long the history;
- the distinct challenges each player has passed, with difficulty and tags, in one query.

Written without the ORM: the progress endpoint loads these on every read, and compiling the querysets
cost more than running them (bench/README.md).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connections, router
from django.db.models import DateField, IntegerField
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from progress.badges.conditions import (
    STAT_COMPLETED,
    STAT_PASSED_DAYS,
    CompletedChallenge,
    PlayerStats,
)
from progress.streaks import streaks, user_zone
from skillquest import sql

# What a caller must have loaded of each player.
STATS_USER_FIELDS = ("id", "username", "total_xp", "level", "timezone", "is_active")


def load_stats(
    *,
    users: Iterable[User],
    needs: Mapping[uuid.UUID, Iterable[str]] | Iterable[str],
    now: datetime | None = None,
) -> dict[uuid.UUID, PlayerStats]:
    """Every player's `PlayerStats`, loading only the stats `needs` asks for: one set for everyone,
    or a set per player id. A fixed number of queries however many players there are."""
    users = list(users)
    now = now or timezone.now()
    wanted: dict[uuid.UUID, frozenset[str]] = (
        {user.pk: frozenset(needs.get(user.pk, ())) for user in users}
        if isinstance(needs, Mapping)
        else dict.fromkeys((user.pk for user in users), frozenset(needs))
    )
    fields: dict[uuid.UUID, dict[str, Any]] = {
        user.pk: {"total_xp": user.total_xp, "level": user.level} for user in users
    }
    by_zone: dict[str, list[uuid.UUID]] = defaultdict(list)
    for user in users:
        if STAT_PASSED_DAYS in wanted[user.pk]:
            by_zone[user.timezone].append(user.pk)
    for zone_name, user_ids in by_zone.items():
        zone = user_zone(zone_name)
        today = now.astimezone(zone).date()
        days = passed_days(user_ids=user_ids, zone=zone)
        for user_id in user_ids:
            player_days = days.get(user_id, {})
            streak = streaks(player_days, today=today)
            fields[user_id].update(
                passed_attempts=sum(passed for passed, _ in player_days.values()),
                current_streak=streak.current,
                longest_streak=streak.longest,
                xp_by_day={day: xp for day, (_, xp) in player_days.items()},
                today=today,
            )
    completed_for = [user.pk for user in users if STAT_COMPLETED in wanted[user.pk]]
    if completed_for:
        for user_id, challenges in completed_challenges(user_ids=completed_for).items():
            fields[user_id]["completed"] = challenges
    return {user_id: PlayerStats(**values) for user_id, values in fields.items()}


def passed_days(*, user_ids: Sequence[uuid.UUID], zone: Any) -> dict[uuid.UUID, dict[date, tuple[int, int]]]:
    """Per player, per local calendar date in `zone`: (passed attempts, XP they paid), in one query.

    The conversion is the backend's own (`AT TIME ZONE` on PostgreSQL, Django's zone-aware function on
    SQLite): what `TruncDate(..., tzinfo=zone)` compiles to.
    """
    connection = connections[router.db_for_read(Attempt)]
    quote = connection.ops.quote_name
    # The name TruncDate would pass: for fixed-offset zones ("Etc/GMT+10") it is the offset ("-10"),
    # which the backend turns into "-10:00"; the key itself would be read as name and offset, sign flipped.
    tzname = timezone._get_timezone_name(zone)  # type: ignore[attr-defined]  # private, not in the stubs
    day, day_params = connection.ops.datetime_cast_date_sql(quote("submitted_at"), (), tzname)
    user_field = Attempt._meta.get_field("user")
    marks = ", ".join(["%s"] * len(user_ids))
    rows = sql.fetch_values(
        f"SELECT user_id, {day}, COUNT(*), COALESCE(SUM(xp_awarded), 0)"  # noqa: S608 (model metadata only)
        f" FROM {quote(Attempt._meta.db_table)}"
        f" WHERE user_id IN ({marks}) AND status = %s AND submitted_at IS NOT NULL GROUP BY 1, 2",
        [
            *day_params,
            *(user_field.get_db_prep_value(pk, connection) for pk in user_ids),
            Attempt.Status.PASSED.value,
        ],
        [User._meta.pk, DateField(), IntegerField(), IntegerField()],
    )
    days: dict[uuid.UUID, dict[date, tuple[int, int]]] = defaultdict(dict)
    for user_id, local_day, passed, xp in rows:
        days[user_id][local_day] = (passed, xp)
    return days


def completed_challenges(*, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[CompletedChallenge, ...]]:
    """Per player, the distinct challenges they have passed, with difficulty and tag slugs, in one query."""
    connection = connections[router.db_for_read(Attempt)]
    quote = connection.ops.quote_name
    table = {
        model: quote(model._meta.db_table) for model in (Attempt, Challenge, Tag, Challenge.tags.through)
    }
    user_field = Attempt._meta.get_field("user")
    marks = ", ".join(["%s"] * len(user_ids))
    rows = sql.fetch_values(
        f"SELECT DISTINCT a.user_id, c.id, c.difficulty, t.slug FROM {table[Attempt]} a"  # noqa: S608 (model metadata only)
        f" JOIN {table[Challenge]} c ON c.id = a.challenge_id"
        f" LEFT JOIN {table[Challenge.tags.through]} ct ON ct.challenge_id = c.id"
        f" LEFT JOIN {table[Tag]} t ON t.id = ct.tag_id"
        f" WHERE a.user_id IN ({marks}) AND a.status = %s",
        [*(user_field.get_db_prep_value(pk, connection) for pk in user_ids), Attempt.Status.PASSED.value],
        [
            User._meta.pk,
            Challenge._meta.pk,
            Challenge._meta.get_field("difficulty"),
            Tag._meta.get_field("slug"),
        ],
    )
    difficulty: dict[uuid.UUID, dict[Any, str]] = {pk: {} for pk in user_ids}
    tags: dict[tuple[uuid.UUID, Any], set[str]] = defaultdict(set)
    for user_id, challenge_id, challenge_difficulty, tag in rows:
        difficulty[user_id][challenge_id] = challenge_difficulty
        if tag is not None:
            tags[(user_id, challenge_id)].add(tag)
    return {
        user_id: tuple(
            CompletedChallenge(challenge_id=pk, difficulty=level, tags=frozenset(tags[(user_id, pk)]))
            for pk, level in challenges.items()
        )
        for user_id, challenges in difficulty.items()
    }
