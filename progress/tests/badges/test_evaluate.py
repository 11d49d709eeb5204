"""badges_evaluate: awards what the player qualifies for, once, in a fixed number of queries."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from progress.badges import services as badge_services
from progress.models import UserBadge
from progress.tests.badges.conftest import held
from progress.webhooks.subscriptions import subscribed_types

pytestmark = pytest.mark.django_db

DAY = datetime(2025, 1, 10, 12, tzinfo=UTC)


def test_a_player_with_nothing_earns_nothing(user, catalogue):
    assert badge_services.badges_evaluate(user_ids=[user.pk]) == []
    assert held(user) == set()


def test_each_condition_type_is_awarded_when_met(user, catalogue, make_attempt, make_challenge):
    user.total_xp, user.level = 1000, 4
    user.save()
    make_attempt(user, DAY, challenge=make_challenge("A", tags=["sql"]))
    make_attempt(user, DAY + timedelta(days=1), challenge=make_challenge("B", tags=["sql"]))
    make_attempt(user, DAY + timedelta(days=2), challenge=make_challenge("C", difficulty="hard"))
    awarded = badge_services.badges_evaluate(user_ids=[user.pk])
    assert {award.badge.slug for award in awarded} == {
        "first-steps", "conqueror", "level-3", "two-easy", "sql-adept", "streak",
    }  # fmt: skip
    assert held(user) == {award.badge.slug for award in awarded}


def test_conditions_just_short_are_not_awarded(user, catalogue, make_attempt, make_challenge):
    user.total_xp, user.level = 999, 2
    user.save()
    make_attempt(user, DAY, challenge=make_challenge("A", tags=["sql"]))
    make_attempt(
        user, DAY + timedelta(days=2), challenge=make_challenge("B", difficulty="hard", tags=["python"])
    )
    make_attempt(
        user, DAY + timedelta(days=3), challenge=make_challenge("C", difficulty="hard"), passed=False
    )
    assert {award.badge.slug for award in badge_services.badges_evaluate(user_ids=[user.pk])} == {
        "first-steps"
    }


def test_passing_one_challenge_twice_is_one_challenge_completed(
    user, catalogue, make_attempt, make_challenge
):
    challenge = make_challenge("A", tags=["sql"])
    make_attempt(user, DAY, challenge=challenge)
    make_attempt(user, DAY + timedelta(hours=1), challenge=challenge)
    assert "sql-adept" not in {
        award.badge.slug for award in badge_services.badges_evaluate(user_ids=[user.pk])
    }


def test_a_badge_is_awarded_once_and_the_second_call_returns_nothing(user, catalogue, make_attempt):
    make_attempt(user, DAY)
    first = badge_services.badges_evaluate(user_ids=[user.pk])
    assert [award.badge.slug for award in first] == ["first-steps"]
    assert badge_services.badges_evaluate(user_ids=[user.pk]) == []
    assert UserBadge.objects.filter(user=user).count() == 1


def test_the_attempt_that_earned_it_is_recorded(user, catalogue, make_attempt):
    attempt = make_attempt(user, DAY)
    badge_services.badges_evaluate(user_ids=[user.pk], attempt_ids={user.pk: attempt.pk})
    assert UserBadge.objects.get(user=user).metadata == {"attempt_id": str(attempt.pk)}


def test_kinds_limit_which_badges_are_checked(user, catalogue, make_attempt):
    user.total_xp = 5000
    user.save()
    make_attempt(user, DAY)
    assert [
        a.badge.slug for a in badge_services.badges_evaluate(user_ids=[user.pk], kinds={user.pk: ["xp"]})
    ] == ["conqueror"]
    assert badge_services.badges_evaluate(user_ids=[user.pk], kinds={user.pk: []}) == []
    assert held(user) == {"conqueror"}


def test_inactive_badges_are_not_awarded(user, make_badge, make_attempt):
    make_badge("Retired", {"type": "attempt_count", "count": 1}, is_active=False)
    make_attempt(user, DAY)
    assert badge_services.badges_evaluate(user_ids=[user.pk]) == []


def test_badges_are_never_revoked(user, catalogue, make_attempt):
    user.total_xp = 1000
    user.save()
    badge_services.badges_evaluate(user_ids=[user.pk])
    user.total_xp = 0
    user.save()
    assert badge_services.badges_evaluate(user_ids=[user.pk]) == []
    assert held(user) == {"conqueror"}


def test_badge_awarded_is_logged_per_new_badge(user, catalogue, make_attempt, caplog):
    caplog.set_level(logging.INFO, logger="skillquest.awards")
    user.total_xp = 1000
    user.save()
    attempt = make_attempt(user, DAY)
    badge_services.badges_evaluate(user_ids=[user.pk], attempt_ids={user.pk: attempt.pk})
    events = [r for r in caplog.records if r.getMessage() == "badge_awarded"]
    assert sorted(r.badge for r in events) == ["conqueror", "first-steps"]
    assert {r.user_id for r in events} == {str(user.pk)}
    assert {r.attempt_id for r in events} == {str(attempt.pk)}
    caplog.clear()
    badge_services.badges_evaluate(user_ids=[user.pk])
    assert not [r for r in caplog.records if r.getMessage() == "badge_awarded"]


def test_evaluation_takes_a_fixed_number_of_queries(
    user, catalogue, make_badge, make_attempt, make_challenge, django_assert_num_queries
):
    for n in range(20):
        make_badge(f"Extra {n}", {"type": "xp", "threshold": 10 + n})
    user.total_xp, user.level = 5000, 8
    user.save()
    for day in range(10):
        make_attempt(user, DAY + timedelta(days=day), challenge=make_challenge(f"C{day}", tags=["sql"]))
    # Badges, player, passed days, completed challenges, then savepoint, insert, read-back, the
    # notifications of the new badges, release. The webhooks' subscriptions come from the cache, warm
    # as in a running system (cold, they cost one query: progress.webhooks.subscriptions).
    subscribed_types()
    with django_assert_num_queries(9):
        awarded = badge_services.badges_evaluate(user_ids=[user.pk])
    assert len(awarded) == 26


def test_unknown_user_gets_nothing(catalogue):
    assert badge_services.badges_evaluate(user_ids=[uuid.uuid4()]) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluations_award_each_badge_once(user, make_badge, make_attempt):
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_badge("Conqueror", {"type": "xp", "threshold": 10})
    user.total_xp = 10
    user.save()
    make_attempt(user, DAY)
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    results: list[list[UserBadge]] = []
    errors: list[BaseException] = []

    def evaluate():
        try:
            barrier.wait()
            results.append(badge_services.badges_evaluate(user_ids=[user.pk]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    created = [award.badge.slug for result in results for award in result]
    assert sorted(created) == ["conqueror", "first-steps"]
    assert UserBadge.objects.filter(user=user).count() == 2
