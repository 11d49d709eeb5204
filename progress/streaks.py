"""Streaks: runs of consecutive calendar days with at least one passed attempt. Pure, no I/O.

(The days themselves are loaded by `progress.badges.stats`, for the badges and the progress page.)

The rule (one place, used by the progress page, the `consecutive_days` badge and recalculation):
days are the local calendar dates, in the player's *current* timezone (`User.timezone`), of the
stored UTC `submitted_at` of their passed attempts. A timezone change therefore recomputes the
whole history in the new zone: it cannot fake a streak (two attempts an hour apart are never
counted on two dates by two different zones) and a steady daily habit stays a streak in any zone.
DST needs no special case because dates come from a real zone conversion, not a fixed offset.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise


def user_zone(name: str) -> zoneinfo.ZoneInfo:
    """The player's zone; UTC if the stored name is not a known zone (it is validated on write)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class Streaks:
    current: int = 0  # the run ending today or yesterday (local), else 0
    longest: int = 0


def streaks(days: Iterable[date], *, today: date) -> Streaks:
    """Current and longest run of consecutive dates in `days` (any order, duplicates allowed).

    The current streak survives until the end of the day after the last active day: a player who
    played yesterday and not yet today has not broken their streak.
    """
    ordered = sorted(set(days))
    if not ordered:
        return Streaks()
    longest = run = 1
    for previous, day in pairwise(ordered):
        run = run + 1 if day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
    current = run if ordered[-1] >= today - timedelta(days=1) else 0
    return Streaks(current=current, longest=longest)
