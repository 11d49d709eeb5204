"""What the outbox holds: only subscribed types, written by the award batch, grants, the badge evaluator
and recalculation's set-based badge award, each with the same data whichever path wrote it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from challenges.models import Attempt
from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.badges.services import badges_award_missing, badges_evaluate
from progress.ledger.services import xp_grant
from progress.models import Badge, OutboxEvent
from progress.webhooks import services
from progress.webhooks.events import TYPES
from progress.webhooks.subscriptions import subscribed_types

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hook"


def _graded(user, count: int = 2) -> None:
    for _ in range(count):
        Attempt.objects.create(
            user=user,
            challenge=make_challenge(xp=100),
            status="passed",
            score=100,
            submitted_at=timezone.now(),
        )


def test_without_an_endpoint_nothing_is_written(user, staff_user):
    _graded(user)
    assert len(awards_process()) == 2
    xp_grant(user_id=user.pk, amount=5, reason="Thanks", actor=staff_user)
    assert not OutboxEvent.objects.exists()


def test_only_the_subscribed_types_are_written(user, staff_user):
    services.endpoint_create(url=PUBLIC, events=["xp.granted"], actor=staff_user)
    _graded(user)
    awards_process()
    assert not OutboxEvent.objects.exists()
    xp_grant(user_id=user.pk, amount=5, reason="Thanks", actor=staff_user)
    (event,) = OutboxEvent.objects.all()
    assert event.type == "xp.granted"
    assert event.data == {
        "user_id": str(user.pk), "entry_id": event.data["entry_id"], "amount": 5, "reason": "Thanks",
        "total_xp": 205,
    }  # fmt: skip


def test_an_award_batch_reports_each_attempt_its_xp_and_level(user, staff_user):
    services.endpoint_create(url=PUBLIC, events=list(TYPES), actor=staff_user)
    _graded(user, 3)
    awards = awards_process()
    types = sorted(OutboxEvent.objects.values_list("type", flat=True))
    assert types.count("attempt.graded") == 3 and types.count("xp.awarded") == 3
    assert types.count("level.up") == sum(award.levelled_up for award in awards)
    graded = OutboxEvent.objects.filter(type="attempt.graded").first()
    assert graded is not None
    assert set(graded.data) == {
        "attempt_id", "user_id", "challenge_id", "score", "passed", "submitted_at", "xp_awarded",
    }  # fmt: skip


def test_badges_from_the_evaluator_and_from_recalculation_carry_the_same_data(user, other_user, staff_user):
    services.endpoint_create(url=PUBLIC, events=["badge.awarded"], actor=staff_user)
    badge = Badge.objects.create(name="Fifty", slug="fifty", condition={"type": "xp", "threshold": 50})
    for player in (user, other_user):
        player.total_xp, player.level = 60, 2
        player.save()
    badges_evaluate(user_ids=[user.pk])
    assert badges_award_missing() == 1  # other_user, in one set-based statement
    by_player = {event.data["user_id"]: event for event in OutboxEvent.objects.filter(type="badge.awarded")}
    assert set(by_player) == {str(user.pk), str(other_user.pk)}
    expected = {"badge_id": str(badge.pk), "badge": "fifty", "name": "Fifty", "attempt_id": None}
    for player, event in by_player.items():
        assert event.data == {"user_id": player, **expected}


def test_with_the_cache_down_the_subscriptions_come_from_the_database(user, staff_user, settings):
    services.endpoint_create(url=PUBLIC, events=["xp.granted"], actor=staff_user)
    # A Redis nobody listens on: every cache call raises ConnectionError.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    assert subscribed_types() == frozenset({"xp.granted"})
    xp_grant(user_id=user.pk, amount=5, reason="Thanks", actor=staff_user)  # no 500 for the cache's sake
    assert OutboxEvent.objects.get().type == "xp.granted"
