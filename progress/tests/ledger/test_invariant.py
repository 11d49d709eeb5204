"""The ledger invariant under random interleavings of every XP writer: after each step, every total is
the sum of its entries, its level follows from it, it is never negative, an attempt's xp_awarded is
a copy of its one entry, an event bonus is the event's share of what its attempt paid (once), and a
quest pays its reward at most once a day.

The award job is three writers in one: the awards, the bonuses of the live event that holds the first
challenge, and the rewards of two daily quests, all drawn by hypothesis."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress import jobs
from progress.awards import rules
from progress.awards import services as award_services
from progress.ledger.selectors import ledger_mismatches
from progress.ledger.services import xp_grant, xp_recalculate
from progress.models import Event, Quest, XpEntry
from skillquest.errors import XpWouldGoNegative

pytestmark = pytest.mark.django_db

PLAYERS = 3
CHALLENGES = 3

player_index = st.integers(0, PLAYERS - 1)
challenge_index = st.integers(0, CHALLENGES - 1)
step_strategy = st.one_of(
    # (op, player, challenge, score, through the RQ job function rather than the service)
    st.tuples(st.just("award"), player_index, challenge_index, st.integers(0, 100), st.booleans()),
    st.tuples(st.just("replay"), st.integers(0, 50)),  # which awarded attempt, modulo their number
    st.tuples(st.just("grant"), player_index, st.integers(1, 300)),
    st.tuples(st.just("revoke"), player_index, st.integers(1, 300)),
    st.tuples(st.just("retune"), challenge_index, st.integers(1, 250)),
    st.tuples(st.just("recalc"), st.booleans()),  # dry run?
)
scenario_strategy = st.fixed_dictionaries(
    {
        "challenges": st.lists(
            st.tuples(st.integers(1, 250), st.integers(0, 100)), min_size=CHALLENGES, max_size=CHALLENGES
        ),  # (xp, pass_score)
        "steps": st.lists(step_strategy, min_size=1, max_size=10),
        "multiplier": st.integers(100, 500).map(lambda hundredths: Decimal(hundredths) / 100),
        "quests": st.tuples(
            st.tuples(st.integers(1, 3), st.integers(1, 200)),  # pass_challenges: count, reward
            st.tuples(st.integers(1, 400), st.integers(1, 200)),  # earn_xp: xp, reward
        ),
    }
)


def _state() -> tuple:
    """Everything an XP writer may touch: compared whole when a step must change nothing."""
    return (
        list(XpEntry.objects.order_by("id").values_list("id", "amount")),
        list(User.objects.order_by("id").values_list("id", "total_xp", "level")),
        list(Attempt.objects.order_by("id").values_list("id", "xp_awarded", "awarded_at")),
    )


def _assert_ledger_invariant() -> None:
    sums = dict(XpEntry.objects.values("user").annotate(total=Sum("amount")).values_list("user", "total"))
    for player in User.objects.all():
        assert player.total_xp == sums.get(player.pk, 0), player.username
        assert player.level == rules.level_for_xp(player.total_xp), player.username
        assert player.total_xp >= 0, player.username
    entries_of: dict = defaultdict(list)
    for attempt_id, amount in XpEntry.objects.filter(kind="attempt").values_list("attempt", "amount"):
        entries_of[attempt_id].append(amount)
    for attempt_id, xp_awarded in Attempt.objects.values_list("id", "xp_awarded"):
        assert len(entries_of[attempt_id]) <= 1
        assert xp_awarded == (entries_of[attempt_id] or [0])[0]
    bonuses = XpEntry.objects.filter(kind="event_bonus").values_list(
        "attempt", "amount", "event__xp_multiplier"
    )
    assert len({attempt_id for attempt_id, _, _ in bonuses}) == len(bonuses)
    for attempt_id, amount, multiplier in bonuses:
        [paid] = entries_of[attempt_id]
        assert amount == rules.event_bonus(paid=paid, multiplier=multiplier)
    rewards = XpEntry.objects.filter(kind="quest").values_list(
        "idempotency_key", "amount", "quest__reward_xp"
    )
    assert all(amount == reward for _, amount, reward in rewards)
    assert len({key for key, _, _ in rewards}) == len(rewards)
    assert ledger_mismatches() == []


def _graded(user, challenge, score) -> Attempt:
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    return Attempt.objects.create(
        user=user, challenge=challenge, score=score, status=status, submitted_at=timezone.now()
    )


def _run(step, *, players, challenges, staff, awarded) -> None:
    op, *args = step
    if op == "award":
        index, challenge_at, score, through_job = args
        challenge = Challenge.objects.get(pk=challenges[challenge_at].pk)  # its current XP
        attempt = _graded(players[index], challenge, score)
        if through_job:
            assert jobs.award_xp_and_badges(str(attempt.pk))["awarded"] == 1
        else:
            assert len(award_services.awards_process(attempt_ids=[attempt.pk])) == 1
        awarded.append(attempt.pk)
    elif op == "replay":
        if not awarded:
            return
        attempt_id = awarded[args[0] % len(awarded)]
        before = _state()
        assert award_services.awards_process(attempt_ids=[attempt_id]) == []
        assert jobs.award_xp_and_badges(str(attempt_id))["awarded"] == 0
        assert _state() == before
    elif op == "grant":
        index, amount = args
        assert xp_grant(user_id=players[index].pk, amount=amount, reason="Bonus", actor=staff).created
    elif op == "revoke":
        index, amount = args
        total = User.objects.get(pk=players[index].pk).total_xp
        before = _state()
        try:
            xp_grant(user_id=players[index].pk, amount=-amount, reason="Penalty", actor=staff)
        except XpWouldGoNegative:
            assert amount > total
            assert _state() == before
        else:
            assert amount <= total
    elif op == "retune":
        challenge_at, xp = args
        Challenge.objects.filter(pk=challenges[challenge_at].pk).update(xp=xp)
    elif op == "recalc":
        (dry_run,) = args
        before = _state()
        result = xp_recalculate(dry_run=dry_run, actor_id=staff.pk)
        if dry_run:
            assert _state() == before
        else:
            assert result["players_changed"] == XpEntry.objects.filter(run_id=result["run_id"]).count()
            again = xp_recalculate(dry_run=True)
            assert (again["players_changed"], again["projections_repaired"]) == (0, 0)
    else:
        raise AssertionError(op)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenario_strategy)
def test_every_writer_in_any_order_keeps_totals_equal_to_the_ledger(scenario):
    with transaction.atomic():
        staff = baker.make(User, username="staff", is_staff=True)
        players = [baker.make(User, username=f"player{i}", email=f"p{i}@example.com") for i in range(PLAYERS)]
        challenges = [
            baker.make(Challenge, xp=xp, pass_score=pass_score, published=True, slug=f"c{i}")
            for i, (xp, pass_score) in enumerate(scenario["challenges"])
        ]
        now = timezone.now()
        event = Event.objects.create(
            name="Live",
            slug="live",
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            xp_multiplier=scenario["multiplier"],
        )
        event.challenges.set(challenges[:1])
        (count, count_reward), (xp, xp_reward) = scenario["quests"]
        Quest.objects.create(
            name="Pass", kind="pass_challenges", params={"count": count}, reward_xp=count_reward
        )
        Quest.objects.create(name="Earn", kind="earn_xp", params={"xp": xp}, reward_xp=xp_reward)
        awarded: list = []
        for step in scenario["steps"]:
            _run(step, players=players, challenges=challenges, staff=staff, awarded=awarded)
            _assert_ledger_invariant()
        transaction.set_rollback(True)
