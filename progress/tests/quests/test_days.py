"""Local days in the player's zone: real conversions, so a day across a DST change is 23 or 25 hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from progress.quests.days import day_bounds, local_day

NEW_YORK = ZoneInfo("America/New_York")


def test_the_day_the_clocks_go_forward_in_new_york_lasts_23_hours():
    start, end = day_bounds(date(2026, 3, 8), NEW_YORK)
    assert start == datetime(2026, 3, 8, 5, tzinfo=UTC)  # midnight EST
    assert end == datetime(2026, 3, 9, 4, tzinfo=UTC)  # midnight EDT
    assert end - start == timedelta(hours=23)


def test_the_day_the_clocks_go_back_in_new_york_lasts_25_hours():
    start, end = day_bounds(date(2026, 11, 1), NEW_YORK)
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC)  # midnight EDT
    assert end == datetime(2026, 11, 2, 5, tzinfo=UTC)  # midnight EST
    assert end - start == timedelta(hours=25)


@pytest.mark.parametrize(
    ("at", "day"),
    [
        (datetime(2026, 3, 9, 3, 59, tzinfo=UTC), date(2026, 3, 8)),  # 23:59 EDT
        (datetime(2026, 3, 9, 4, 30, tzinfo=UTC), date(2026, 3, 9)),  # 00:30 EDT (a fixed -5 h says the 8th)
        (
            datetime(2026, 11, 2, 4, 30, tzinfo=UTC),
            date(2026, 11, 1),
        ),  # 23:30 EST (a fixed -4 h says the 2nd)
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), date(2026, 11, 2)),
    ],
)
def test_an_instant_falls_on_the_local_date_of_its_zone(at, day):
    assert local_day(at, NEW_YORK) == day
    start, end = day_bounds(day, NEW_YORK)
    assert start <= at < end


def test_a_zone_that_skips_midnight_starts_the_day_at_its_first_instant():
    # Santiago moved its clocks from 00:00 to 01:00 on 2026-09-06: the day begins at 01:00 local.
    santiago = ZoneInfo("America/Santiago")
    start, end = day_bounds(date(2026, 9, 6), santiago)
    assert local_day(start, santiago) == date(2026, 9, 6)
    assert local_day(start - timedelta(microseconds=1), santiago) == date(2026, 9, 5)
    assert end - start == timedelta(hours=23)
