"""Streaks: the pure run counter, and the stats loader that finds local days in the player's timezone."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Count
from django.db.models.functions import TruncDate
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt
from progress.badges.conditions import STAT_PASSED_DAYS
from progress.badges.stats import STATS_USER_FIELDS, load_stats, passed_days
from progress.players.selectors import user_progress
from progress.streaks import Streaks, streaks, user_zone
from skillquest.errors import NotFound


def d(month: int, day: int) -> date:
    return date(2025, month, day)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


class TestStreaks:
    def test_no_days_is_no_streak(self):
        assert streaks([], today=d(1, 10)) == Streaks(current=0, longest=0)

    def test_a_run_ending_today_is_current(self):
        assert streaks([d(1, 8), d(1, 9), d(1, 10)], today=d(1, 10)) == Streaks(current=3, longest=3)

    def test_a_run_ending_yesterday_is_still_current(self):
        assert streaks([d(1, 8), d(1, 9)], today=d(1, 10)) == Streaks(current=2, longest=2)

    def test_a_run_ending_two_days_ago_is_over(self):
        assert streaks([d(1, 7), d(1, 8)], today=d(1, 10)) == Streaks(current=0, longest=2)

    def test_the_longest_run_is_kept_after_a_gap(self):
        days = [d(1, 1), d(1, 2), d(1, 3), d(1, 4), d(1, 6), d(1, 7)]
        assert streaks(days, today=d(1, 7)) == Streaks(current=2, longest=4)

    def test_duplicates_and_order_do_not_matter(self):
        assert streaks([d(1, 9), d(1, 8), d(1, 9), d(1, 8)], today=d(1, 9)) == Streaks(current=2, longest=2)

    def test_runs_cross_month_and_year_ends(self):
        days = [date(2024, 12, 31), date(2025, 1, 1), date(2025, 1, 31), date(2025, 2, 1)]
        assert streaks(days, today=date(2025, 2, 1)) == Streaks(current=2, longest=2)


def player(timezone: str):
    return baker.make("accounts.User", timezone=timezone)


def local_days(user) -> list[date]:
    return sorted(passed_days(user_ids=[user.pk], zone=user_zone(user.timezone))[user.pk])


def user_streaks(*, user_id, now: datetime) -> Streaks:
    """The streaks the production loader gives (what the progress page and the badges read)."""
    user = User.objects.only(*STATS_USER_FIELDS).get(pk=user_id)
    stats = load_stats(users=[user], needs={STAT_PASSED_DAYS}, now=now)[user.pk]
    return Streaks(current=stats.current_streak, longest=stats.longest_streak)


@pytest.mark.django_db
class TestUserStreaks:
    def test_23_30_and_00_30_local_are_two_days(self, make_attempt):
        user = player("Europe/Berlin")  # UTC+1 in January
        make_attempt(user, utc(1, 10, 22, 30))  # 23:30 on the 10th
        make_attempt(user, utc(1, 10, 23, 30))  # 00:30 on the 11th
        assert local_days(user) == [d(1, 10), d(1, 11)]
        assert user_streaks(user_id=user.pk, now=utc(1, 11, 12)) == Streaks(current=2, longest=2)

    def test_00_30_and_23_30_local_of_one_date_are_one_day(self, make_attempt):
        user = player("America/New_York")  # UTC-5 in January: these two are on different UTC dates
        make_attempt(user, utc(1, 10, 5, 30))  # 00:30 on the 10th
        make_attempt(user, utc(1, 11, 4, 30))  # 23:30 on the 10th
        assert local_days(user) == [d(1, 10)]
        assert user_streaks(user_id=user.pk, now=utc(1, 11, 12)) == Streaks(current=1, longest=1)

    def test_spring_forward_night_splits_days_at_local_midnight(self, make_attempt):
        # Europe/Berlin moves to CEST (UTC+2) on Sunday 30 March 2025: a fixed UTC+1 offset would
        # put both of these on the 30th.
        user = player("Europe/Berlin")
        make_attempt(user, utc(3, 30, 21, 30))  # 23:30 CEST on the 30th
        make_attempt(user, utc(3, 30, 22, 30))  # 00:30 CEST on the 31st
        assert local_days(user) == [d(3, 30), d(3, 31)]

    def test_fall_back_day_of_25_hours_is_one_day(self, make_attempt):
        # Europe/Berlin returns to CET on Sunday 26 October 2025: 00:30 and 23:30 that day are
        # 24 hours apart in UTC yet the same calendar day.
        user = player("Europe/Berlin")
        make_attempt(user, utc(10, 25, 22, 30))  # 00:30 CEST on the 26th
        make_attempt(user, utc(10, 26, 22, 30))  # 23:30 CET on the 26th
        assert local_days(user) == [d(10, 26)]
        assert user_streaks(user_id=user.pk, now=utc(10, 27, 8)) == Streaks(current=1, longest=1)

    def test_a_daily_habit_across_both_dst_changes_is_unbroken(self, make_attempt):
        user = player("Europe/Berlin")
        for start in (utc(3, 27, 11), utc(10, 23, 11)):  # noon-ish local, four days around each change
            for offset in range(4):
                make_attempt(user, start + timedelta(days=offset))
        assert user_streaks(user_id=user.pk, now=utc(10, 26, 20)) == Streaks(current=4, longest=4)

    def test_a_timezone_change_cannot_fake_a_streak(self, make_attempt):
        """Two passes half an hour apart stay one day: every attempt is read in the current zone."""
        user = player("Europe/London")
        make_attempt(user, utc(1, 10, 23, 0))  # 23:00 on the 10th in London
        user.timezone = "Asia/Tokyo"
        user.save(update_fields=["timezone"])
        make_attempt(user, utc(1, 10, 23, 30))  # 08:30 on the 11th in Tokyo
        assert local_days(user) == [d(1, 11)]
        assert user_streaks(user_id=user.pk, now=utc(1, 11, 1)).longest == 1
        user.timezone = "Europe/London"
        user.save(update_fields=["timezone"])
        assert user_streaks(user_id=user.pk, now=utc(1, 11, 1)).longest == 1

    @pytest.mark.parametrize(
        "timezone", ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati"]
    )
    def test_a_timezone_change_does_not_break_a_daily_streak(self, make_attempt, timezone):
        user = player("UTC")
        for day in range(10, 15):
            make_attempt(user, utc(1, day, 12))
        user.timezone = timezone
        user.save(update_fields=["timezone"])
        assert user_streaks(user_id=user.pk, now=utc(1, 14, 13)) == Streaks(current=5, longest=5)

    def test_current_streak_uses_today_in_the_players_zone(self, make_attempt):
        user = player("Asia/Tokyo")
        make_attempt(user, utc(1, 10, 16))  # 01:00 on the 11th in Tokyo
        # 23:00 on the 12th in Tokyo: the last active day was yesterday.
        assert user_streaks(user_id=user.pk, now=utc(1, 12, 14)).current == 1
        # 01:00 on the 13th in Tokyo (still the 12th in UTC): the streak is over.
        assert user_streaks(user_id=user.pk, now=utc(1, 12, 16)).current == 0

    def test_failed_attempts_do_not_count(self, make_attempt):
        user = player("UTC")
        make_attempt(user, utc(1, 10, 12))
        make_attempt(user, utc(1, 11, 12), passed=False)
        make_attempt(user, utc(1, 12, 12))
        assert user_streaks(user_id=user.pk, now=utc(1, 12, 13)) == Streaks(current=1, longest=1)

    def test_streaks_take_two_queries_whatever_the_history(self, make_attempt, django_assert_num_queries):
        user = player("Europe/Berlin")
        for day in range(1, 29):
            make_attempt(user, utc(2, day, 12))
        with django_assert_num_queries(2):
            assert user_streaks(user_id=user.pk, now=utc(2, 28, 13)) == Streaks(current=28, longest=28)

    def test_unknown_user_is_not_found(self):
        with pytest.raises(NotFound):
            user_progress(user_id=uuid.uuid4())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "local_day"),
    [
        ("Etc/GMT+10", d(1, 9)),  # UTC-10: 05:00Z is 19:00 the day before
        ("Etc/GMT-14", d(1, 10)),  # UTC+14: 05:00Z is 19:00 the same day
        ("Etc/GMT+5", d(1, 10)),
        ("America/Los_Angeles", d(1, 9)),
        ("UTC", d(1, 10)),
    ],
)
def test_passed_days_agree_with_the_orms_truncdate_in_every_kind_of_zone(make_attempt, zone, local_day):
    """Fixed-offset zones have POSIX-inverted names: a hand-built conversion once flipped their sign."""

    user = player(zone)
    make_attempt(user, utc(1, 10, 5))
    orm = dict(
        Attempt.objects.filter(user=user, status="passed")
        .annotate(day=TruncDate("submitted_at", tzinfo=user_zone(zone)))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    days = {
        day: passed
        for day, (passed, _) in passed_days(user_ids=[user.pk], zone=user_zone(zone))[user.pk].items()
    }
    assert days == orm == {local_day: 1}
