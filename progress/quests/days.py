"""A player's local day and what they did in it, for quests. Many players at once, a fixed number of queries.

The day rule is the streaks' (progress.streaks): local calendar dates in the player's *current* zone,
of the stored UTC `submitted_at` of their attempts. A day is the half-open UTC interval from its local
midnight to the next one, computed by a real zone conversion, so a day across a DST change is 23 or
25 hours long and no fixed offset is ever assumed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.selectors import challenge_tags
from progress.models import XpEntry
from progress.quests.kinds import Day, PassedChallenge
from skillquest import sql

PlayerDay = tuple[uuid.UUID, date]

# Every award job with an active quest reads the batch's days with this statement, built once
# (skillquest.sql: compiling it was ~5 % of a job's CPU, bench/README.md): each awarded attempt of
# the players in the span, its challenge's difficulty, and the XP it earned, event bonus included.
# Ids as their models' primary keys (a UUID is text on SQLite, converted back as the ORM does).
_AWARDED_IN_SPAN_FIELDS = [
    Attempt._meta.pk,
    User._meta.pk,
    Challenge._meta.pk,
    Attempt._meta.get_field("status"),
    Attempt._meta.get_field("submitted_at"),
    Challenge._meta.get_field("difficulty"),
    XpEntry._meta.get_field("amount"),
]
_AWARDED_IN_SPAN = sql.Statement(
    lambda table: (
        "SELECT a.id, a.user_id, a.challenge_id, a.status, a.submitted_at, c.difficulty,"  # noqa: S608
        " COALESCE(a.xp_awarded, 0) + COALESCE(SUM(CASE WHEN e.kind = %s THEN e.amount END), 0)"
        f" FROM {table(Attempt)} a JOIN {table(Challenge)} c ON c.id = a.challenge_id"
        f" LEFT JOIN {table(XpEntry)} e ON e.attempt_id = a.id"
        " WHERE a.user_id IN (%s) AND a.submitted_at >= %s AND a.submitted_at < %s"
        " AND a.xp_awarded IS NOT NULL"
        " GROUP BY a.id, a.user_id, a.challenge_id, a.status, a.submitted_at, c.difficulty, a.xp_awarded"
    ),
    params=[
        XpEntry._meta.get_field("kind"),
        sql.Many(User._meta.pk),
        Attempt._meta.get_field("submitted_at"),
        Attempt._meta.get_field("submitted_at"),
    ],
)


def local_day(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the local `day` in UTC. Where a zone skips midnight, the day starts at its first
    instant (zoneinfo reads the missing wall time with the offset before the change)."""
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def load_days(wanted: Iterable[tuple[uuid.UUID, date, tzinfo]], *, tags: bool) -> dict[PlayerDay, Day]:
    """Each (player, local day in their zone)'s `Day`, as far as its attempts have been awarded.

    One query for the awarded attempts of every wanted day with their event bonuses, and with `tags`
    a second for the tags of the challenges passed; a wanted day with no play is an empty `Day`.
    """
    wanted = list(wanted)
    days: dict[PlayerDay, Day] = {(user_id, day): Day() for user_id, day, _ in wanted}
    if not wanted:
        return days
    zones: dict[uuid.UUID, tzinfo] = {user_id: zone for user_id, _, zone in wanted}
    # One span from the earliest wanted day's start to the latest one's end, for every wanted player:
    # a batch's days are one or two (today, in every zone), and rows of a player's other days are
    # dropped below. An OR of a window per player cost more to compile and send than to run.
    bounds = [day_bounds(day, zone) for _, day, zone in wanted]
    rows = sql.fetch_values(
        _AWARDED_IN_SPAN,
        [
            XpEntry.Kind.EVENT_BONUS,
            list(zones),
            min(start for start, _ in bounds),
            max(end for _, end in bounds),
        ],
        _AWARDED_IN_SPAN_FIELDS,
    )
    passed: dict[PlayerDay, dict[uuid.UUID, str]] = defaultdict(dict)
    xp: dict[PlayerDay, int] = defaultdict(int)
    for _, user_id, challenge_id, status, submitted_at, difficulty, earned in rows:
        key = (user_id, local_day(submitted_at, zones[user_id]))
        if key not in days:
            continue  # the player's other wanted day shares the query, not this row
        xp[key] += earned
        if status == Attempt.Status.PASSED:
            passed[key][challenge_id] = difficulty
    slugs: dict[uuid.UUID, set[str]] = defaultdict(set)
    if tags:
        slugs.update(
            challenge_tags(challenge_ids={pk for challenges in passed.values() for pk in challenges})
        )
    for key in days:
        days[key] = Day(
            passed=tuple(
                PassedChallenge(challenge_id=pk, difficulty=difficulty, tags=frozenset(slugs[pk]))
                for pk, difficulty in sorted(passed[key].items(), key=lambda item: str(item[0]))
            ),
            xp=xp[key],
        )
    return days
