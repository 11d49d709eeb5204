"""Periods and their windows: which board a moment falls in, by UTC calendar. Pure, no I/O.

A board is a period's window of one scope: every challenge (`tag` None) or the challenges with one
tag (`tag` its slug: the XP that attempts on those challenges paid in the window).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

PERIODS = ("all", "week", "month")
# Every board key starts with this hash tag, so a Redis Cluster keeps all boards in one slot: one
# award's MULTI writes each period of every challenge and of its tags (RedisBackend.record), and a
# rebuild RENAMEs a temporary key (the board's key plus a suffix) over the board. One slot means one
# cluster node serves the boards; splitting them would cost record() its one atomic round trip.
# Keys from before the tag (`leaderboard:...`) are read by nothing: `manage.py rebuild_leaderboard`
# writes the boards afresh under the tag and deletes those (RedisBackend.rebuild).
KEY_PREFIX = "{leaderboard}"
UNTAGGED_KEYS = "leaderboard:*"
# A windowed board outlives its window a little: an award made at 23:59:59 on Sunday may be
# recorded a moment after midnight, and its key must not vanish under it.
EXPIRY_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    period: str
    key: str
    start: datetime | None = None  # inclusive, UTC; None for all-time
    end: datetime | None = None  # exclusive, UTC
    tag: str | None = None  # the slug of a tag board; None for the boards of every challenge

    @property
    def expires_at(self) -> datetime | None:
        return self.end + EXPIRY_GRACE if self.end else None


def window_for(period: str, at: datetime | None = None, *, tag: str | None = None) -> Window:
    """The board that `at` (default: now) falls in, by UTC calendar, of every challenge or of `tag`."""
    if period not in PERIODS:
        raise ValueError(f"Unknown leaderboard period {period!r}.")
    # Slugs are [-a-zA-Z0-9_]: no ':' to make two boards share a key.
    prefix = KEY_PREFIX if tag is None else f"{KEY_PREFIX}:tag:{tag}"
    if period == "all":
        return Window("all", f"{prefix}:all", tag=tag)
    day = (at or timezone.now()).astimezone(UTC).date()
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        start = datetime.combine(monday, time.min, tzinfo=UTC)
        iso_year, iso_week, _ = monday.isocalendar()
        key = f"{prefix}:week:{iso_year}-W{iso_week:02d}"
        return Window("week", key, start, start + timedelta(days=7), tag=tag)
    start = datetime.combine(day.replace(day=1), time.min, tzinfo=UTC)
    next_month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    end = start.replace(year=next_month[0], month=next_month[1])
    return Window("month", f"{prefix}:month:{start:%Y-%m}", start, end, tag=tag)


def current_windows(at: datetime | None = None, *, tags: Iterable[str] = ()) -> list[Window]:
    """Every current board: each period of every challenge, then each period of each tag."""
    at = at or timezone.now()
    return [window_for(period, at, tag=tag) for tag in (None, *tags) for period in PERIODS]
