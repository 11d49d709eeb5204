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

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from challenges.models import Attempt, Challenge
from progress.models import XpEntry
from progress.quests.kinds import Day, PassedChallenge

PlayerDay = tuple[uuid.UUID, date]


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
    rows = (
        Attempt.objects.filter(
            user_id__in=list(zones),
            submitted_at__gte=min(start for start, _ in bounds),
            submitted_at__lt=max(end for _, end in bounds),
            xp_awarded__isnull=False,
        )
        .values_list("id", "user_id", "challenge_id", "challenge__difficulty", "status", "submitted_at")
        .annotate(
            xp=Coalesce("xp_awarded", 0)
            + Coalesce(Sum("xp_entries__amount", filter=Q(xp_entries__kind=XpEntry.Kind.EVENT_BONUS)), 0)
        )
        .order_by()
    )
    passed: dict[PlayerDay, dict[uuid.UUID, str]] = defaultdict(dict)
    xp: dict[PlayerDay, int] = defaultdict(int)
    for _, user_id, challenge_id, difficulty, status, submitted_at, earned in rows:
        key = (user_id, local_day(submitted_at, zones[user_id]))
        if key not in days:
            continue  # the player's other wanted day shares the query, not this row
        xp[key] += earned
        if status == Attempt.Status.PASSED:
            passed[key][challenge_id] = difficulty
    slugs: dict[uuid.UUID, set[str]] = defaultdict(set)
    if tags:
        challenge_ids = {pk for challenges in passed.values() for pk in challenges}
        through = Challenge.tags.through.objects.filter(challenge_id__in=challenge_ids)
        for challenge_id, slug in through.values_list("challenge_id", "tag__slug"):
            slugs[challenge_id].add(slug)
    for key in days:
        days[key] = Day(
            passed=tuple(
                PassedChallenge(challenge_id=pk, difficulty=difficulty, tags=frozenset(slugs[pk]))
                for pk, difficulty in sorted(passed[key].items(), key=lambda item: str(item[0]))
            ),
            xp=xp[key],
        )
    return days
