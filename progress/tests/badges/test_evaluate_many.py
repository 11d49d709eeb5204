"""The evaluator takes many players at once (the award batch): the same outcome as one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from model_bakery import baker

from accounts.models import User
from progress.badges import conditions
from progress.badges import services as badge_services
from progress.models import UserBadge
from progress.tests.badges.conftest import held
from progress.webhooks.subscriptions import subscribed_types

pytestmark = pytest.mark.django_db

DAY = datetime(2025, 1, 10, 12, tzinfo=UTC)
ALL_KINDS = set(conditions.REGISTRY)


def _players(make_attempt, make_challenge):
    """Three players with different histories and timezones (streak days are local days)."""
    sql_a, sql_b = make_challenge("A", tags=["sql"]), make_challenge("B", tags=["sql"])
    hard = make_challenge("C", difficulty="hard")
    everything = baker.make(User, total_xp=1000, level=4, timezone="Europe/Paris")
    for day, challenge in enumerate((sql_a, sql_b, hard)):
        make_attempt(everything, DAY + timedelta(days=day), challenge=challenge)
    # 23:30 UTC on consecutive days is the next local day in Tokyo: still three days in a row there.
    tokyo = baker.make(User, total_xp=10, level=1, timezone="Asia/Tokyo")
    for day in range(3):
        make_attempt(tokyo, DAY.replace(hour=23, minute=30) + timedelta(days=day), challenge=hard)
    # Two passes on one day and a gap: no streak of 3; one easy challenge twice is one completed.
    short = baker.make(User, total_xp=999, level=2, timezone="UTC")
    make_attempt(short, DAY, challenge=sql_a)
    make_attempt(short, DAY, challenge=sql_a)
    make_attempt(short, DAY + timedelta(days=2), challenge=hard)
    return everything, tokyo, short


def test_the_batch_awards_what_one_by_one_evaluation_awards(catalogue, make_attempt, make_challenge):
    everything, tokyo, short = _players(make_attempt, make_challenge)
    players = [everything, tokyo, short]
    created = badge_services.badges_evaluate(
        user_ids=[p.pk for p in players],
        kinds={p.pk: ALL_KINDS for p in players},
        attempt_ids={p.pk: p.pk for p in players},
    )
    batch = {p.pk: held(p) for p in players}
    assert batch[everything.pk] == {"first-steps", "conqueror", "level-3", "two-easy", "sql-adept", "streak"}
    assert batch[tokyo.pk] == {"first-steps", "streak"}
    assert batch[short.pk] == {"first-steps"}
    assert len(created) == sum(len(slugs) for slugs in batch.values())
    assert {(b.user_id, b.metadata["attempt_id"]) for b in created} == {(p.pk, str(p.pk)) for p in players}

    UserBadge.objects.all().delete()
    for player in players:
        badge_services.badges_evaluate(user_ids=[player.pk])
    assert {p.pk: held(p) for p in players} == batch


def test_only_the_given_kinds_are_checked_and_held_badges_are_skipped(
    catalogue, make_attempt, make_challenge
):
    everything, tokyo, _ = _players(make_attempt, make_challenge)
    badge_services.badges_evaluate(user_ids=[tokyo.pk])
    created = badge_services.badges_evaluate(
        user_ids=[everything.pk, tokyo.pk],
        kinds={everything.pk: {"xp", "level"}, tokyo.pk: ALL_KINDS},
        attempt_ids={everything.pk: everything.pk, tokyo.pk: tokyo.pk},
    )
    assert {(b.user_id, b.badge.slug) for b in created} == {
        (everything.pk, "conqueror"),
        (everything.pk, "level-3"),
    }
    assert (
        badge_services.badges_evaluate(
            user_ids=[everything.pk],
            kinds={everything.pk: ALL_KINDS},
            attempt_ids={everything.pk: everything.pk},
        )
        != []
    )  # the kinds left out before are still earned later
    assert (
        badge_services.badges_evaluate(
            user_ids=[everything.pk],
            kinds={everything.pk: ALL_KINDS},
            attempt_ids={everything.pk: everything.pk},
        )
        == []
    )


def test_the_batch_takes_a_fixed_number_of_queries(
    catalogue, make_attempt, make_challenge, django_assert_num_queries
):
    def players(count: int) -> list[User]:
        made = []
        for n in range(count):
            player = baker.make(User, total_xp=5000, level=8, timezone=("UTC", "Asia/Tokyo")[n % 2])
            for day in range(3):
                make_attempt(player, DAY + timedelta(days=day), challenge=make_challenge(f"P{n}-{day}"))
            made.append(player)
        return made

    # Badges with their holders among these players, players, passed days per timezone (2), completed,
    # savepoint, insert, read-back, notifications, release: the same for 2 players as for 20. The
    # webhooks' subscriptions come from the cache, warm as in a running system.
    subscribed_types()
    for count in (2, 20):
        batch = players(count)
        with django_assert_num_queries(10):
            created = badge_services.badges_evaluate(
                user_ids=[p.pk for p in batch],
                kinds={p.pk: ALL_KINDS for p in batch},
                attempt_ids={p.pk: p.pk for p in batch},
            )
        assert len(created) == count * 5
