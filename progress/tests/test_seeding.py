from __future__ import annotations

import pytest
from django_rq import get_queue
from rq import SimpleWorker

from progress import seeding
from progress.models import Badge, Follow, UserBadge

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
