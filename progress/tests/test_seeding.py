from __future__ import annotations

import pytest
from django_rq import get_queue
from rq import SimpleWorker

from progress import seeding
from progress.events.selectors import event_board
from progress.ledger.selectors import ledger_mismatches
from progress.models import Badge, Event, Follow, Quest, UserBadge, XpEntry

pytestmark = pytest.mark.django_db


def seed(django_capture_on_commit_callbacks) -> list[str]:
    with django_capture_on_commit_callbacks(execute=True):
        report = seeding.seed_demo()
    queue = get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    return report


def earned() -> set[tuple[str, str]]:
    return set(UserBadge.objects.values_list("user__username", "badge__slug"))


def test_seed_creates_the_badges_and_the_demo_history_earns_some(django_capture_on_commit_callbacks):
    seed(django_capture_on_commit_callbacks)
    slugs = set(Badge.objects.values_list("slug", flat=True))
    assert {"first-steps", "conqueror", "streak", "level-3", "five-easy-pieces", "sql-adept"} <= slugs
    assert Badge.objects.get(slug="streak").condition == {"type": "consecutive_days", "days": 7}
    assert {("ada", "first-steps"), ("grace", "first-steps"), ("linus", "first-steps")} <= earned()
    assert ("grace", "sql-adept") in earned()
    assert ("ada", "centurion") in earned()
    assert ("linus", "centurion") not in earned()
    assert Badge.objects.get(slug="night-shift").secret is True
    assert set(Follow.objects.values_list("follower__username", "followed__username")) == {
        ("ada", "grace"), ("ada", "linus"), ("grace", "ada"),
    }  # fmt: skip


def test_seed_is_idempotent_and_awards_badges_added_to_an_existing_history(
    django_capture_on_commit_callbacks,
):
    seed(django_capture_on_commit_callbacks)
    UserBadge.objects.filter(badge__slug="centurion").delete()
    Badge.objects.filter(slug="centurion").delete()
    before = Badge.objects.count()
    report = seed(django_capture_on_commit_callbacks)
    assert "Badges: 1 created." in report
    assert Badge.objects.count() == before + 1
    assert ("ada", "centurion") in earned()
    seed(django_capture_on_commit_callbacks)
    assert Badge.objects.count() == before + 1
    assert UserBadge.objects.filter(user__username="ada", badge__slug="first-steps").count() == 1


def test_seed_makes_a_live_and_an_upcoming_event_and_daily_quests_the_history_plays_in(
    django_capture_on_commit_callbacks,
):
    seed(django_capture_on_commit_callbacks)
    live, upcoming = Event.objects.get(slug="spring-sql-sprint"), Event.objects.get(slug="algorithms-weekend")
    assert (live.state, upcoming.state) == ("live", "upcoming")
    queue = get_queue("default")
    scheduled = [queue.fetch_job(job_id) for job_id in queue.scheduled_job_registry.get_job_ids()]
    freezes = [job for job in scheduled if job is not None and (job.func_name or "").endswith("freeze_event")]
    assert len(freezes) == 2  # one for each event's end
    board = event_board(event=live)
    assert {row.username for row in board.results} == {"ada", "grace"}  # their SQL attempts, with bonuses
    assert XpEntry.objects.filter(kind="event_bonus").exists()
    assert set(Quest.objects.values_list("kind", flat=True)) == {
        "pass_challenges",
        "earn_xp",
        "pass_difficulty",
        "pass_tag",
    }
    assert XpEntry.objects.filter(kind="quest", user__username="ada").count() == 4
    assert ledger_mismatches() == []
    seed(django_capture_on_commit_callbacks)
    assert (Event.objects.count(), Quest.objects.count()) == (2, 4)
