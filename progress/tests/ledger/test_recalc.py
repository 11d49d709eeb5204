from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import cast

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.awards import rules
from progress.awards import services as award_services
from progress.ledger.services import xp_recalculate
from progress.ledger.sql import BASE_XP_SQL, LEVEL_SQL
from progress.models import UserBadge, XpEntry

pytestmark = pytest.mark.django_db


def _ledger_sum(user) -> int:
    return sum(XpEntry.objects.filter(user=user).values_list("amount", flat=True))


def _graded_attempt(user, challenge, score):
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    return Attempt.objects.create(user=user, challenge=challenge, score=score, status=status)


def _reference_totals(attempts_in_award_order, challenge_by_id) -> dict:
    """Plain-Python replay of the rules over the award order: what recalculation must produce."""
    best: dict = defaultdict(int)
    totals: dict = defaultdict(int)
    for attempt in attempts_in_award_order:
        challenge = challenge_by_id[attempt.challenge_id]
        base = rules.attempt_base_xp(
            challenge_xp=challenge.xp, score=attempt.score, pass_score=challenge.pass_score
        )
        key = (attempt.user_id, attempt.challenge_id)
        totals[attempt.user_id] += rules.award_for(base=base, best_earlier_base=best[key])
        best[key] = max(best[key], base)
    return totals


history_strategy = st.fixed_dictionaries(
    {
        "challenges": st.lists(
            st.tuples(st.integers(1, 250), st.integers(0, 100)), min_size=1, max_size=3
        ),  # (xp, pass_score)
        "attempts": st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 100)), min_size=1, max_size=12
        ),  # (user index, challenge index, score)
        "new_xp": st.lists(st.integers(1, 250), min_size=3, max_size=3),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=history_strategy)
def test_recalculation_equals_incremental_path(history):
    with transaction.atomic():
        users = [baker.make(User, username=f"player{i}", email=f"p{i}@example.com") for i in range(3)]
        challenges = [
            baker.make(Challenge, xp=xp, pass_score=pass_score, published=True, slug=f"c{i}")
            for i, (xp, pass_score) in enumerate(history["challenges"])
        ]
        for user_index, challenge_index, score in history["attempts"]:
            challenge = challenges[challenge_index % len(challenges)]
            attempt = _graded_attempt(users[user_index], challenge, score)
            award_services.awards_process(attempt_ids=[attempt.pk])

        # The incremental path keeps SUM(xp_awarded) == total_xp == the ledger, and recalculation agrees.
        for user in users:
            user.refresh_from_db()
            awarded = sum(
                cast(int, xp) for xp in Attempt.objects.filter(user=user).values_list("xp_awarded", flat=True)
            )
            assert user.total_xp == awarded == _ledger_sum(user)
            assert user.level == rules.level_for_xp(user.total_xp)
        unchanged = xp_recalculate()
        assert (unchanged["players_changed"], unchanged["projections_repaired"]) == (0, 0)

        # Change every challenge's XP: recalculation must equal a replay of the rules in award order.
        for challenge, new_xp in zip(challenges, history["new_xp"], strict=False):
            Challenge.objects.filter(pk=challenge.pk).update(xp=new_xp)
        xp_recalculate()
        challenge_by_id = {c.pk: c for c in Challenge.objects.all()}
        ordered = list(Attempt.objects.order_by("awarded_at", "id"))
        expected = _reference_totals(ordered, challenge_by_id)
        for user in User.objects.all():
            assert user.total_xp == expected.get(user.pk, 0) == _ledger_sum(user)
            assert user.level == rules.level_for_xp(user.total_xp)
        transaction.set_rollback(True)


def test_sql_level_formula_matches_rules():
    totals = [0, 1, 99, 100, 101, 399, 400, 401, 9999, 10000, 250_000, 2_147_483_647]
    values = ", ".join(f"({t})" for t in totals)
    level = LEVEL_SQL.format(total="totals.total")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT totals.total, {level} FROM (VALUES {values}) AS totals(total)")
        rows = cursor.fetchall()
    assert {total: level for total, level in rows} == {t: rules.level_for_xp(t) for t in totals}


@pytest.mark.parametrize(
    ("xp", "score", "pass_score"),
    [(5, 50, 0), (7, 50, 0), (100, 49, 50), (100, 50, 50), (1, 1, 0), (250, 99, 10), (0, 100, 0)],
)
def test_sql_base_xp_matches_rules_half_up(xp, score, pass_score):
    """xp 5 at score 50 is 2.5, which rounds half up to 3, in SQL exactly as in Python."""
    base = BASE_XP_SQL.format(score=score, pass_score=pass_score, xp=xp)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {base}")
        (value,) = cursor.fetchone()
    assert value == rules.attempt_base_xp(challenge_xp=xp, score=score, pass_score=pass_score)


def test_recalc_command_repairs_a_drifted_total_without_an_entry(capsys):
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    user = baker.make(User)
    award_services.awards_process(attempt_ids=[_graded_attempt(user, challenge, 80).pk])
    User.objects.filter(pk=user.pk).update(total_xp=5, level=7)
    call_command("recalc_xp")
    user.refresh_from_db()
    assert (user.total_xp, user.level) == (80, 1)
    assert XpEntry.objects.filter(user=user).count() == 1  # the award's: an entry is never 0
    assert "0 player(s) changed, +0 XP in all, 1 total(s) repaired" in capsys.readouterr().out
    call_command("recalc_xp")
    assert "0 player(s) changed, +0 XP in all, 0 total(s) repaired" in capsys.readouterr().out


def test_pending_attempts_are_left_for_the_award_job():
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    user = baker.make(User)
    pending = _graded_attempt(user, challenge, 90)
    assert xp_recalculate()["players_changed"] == 0
    pending.refresh_from_db()
    assert pending.xp_awarded is None


def test_recalculation_awards_the_missing_badges_of_every_condition_type(make_badge, make_challenge):
    """The set-based path hands out badges: every type at once, to the players who qualify only."""
    player = baker.make(User, timezone="Asia/Tokyo")
    idle = baker.make(User)
    now = timezone.now()
    challenges = [make_challenge(f"C{n}", difficulty="hard", xp=100, tags=["sql"]) for n in range(3)]
    for day, challenge in enumerate(challenges):
        attempt = _graded_attempt(player, challenge, 100)
        Attempt.objects.filter(pk=attempt.pk).update(
            submitted_at=now - timedelta(days=2 - day),
            xp_awarded=100,
            awarded_at=now - timedelta(days=2 - day),
        )  # awarded, with neither entry nor total: what recalculation owes them is 300
    expected = {
        make_badge("Rich", {"type": "xp", "threshold": 300}).slug,
        make_badge("Level 2", {"type": "level", "level": 2}).slug,
        make_badge("Three", {"type": "attempt_count", "count": 3}).slug,
        make_badge(
            "Hard SQL", {"type": "challenges_completed", "count": 3, "difficulty": "hard", "tag": "sql"}
        ).slug,
        make_badge("Streak", {"type": "consecutive_days", "days": 3}).slug,
        make_badge("Busy week", {"type": "xp_in_window", "xp": 300, "days": 7}).slug,
    }
    make_badge("Too far", {"type": "consecutive_days", "days": 4})

    result = xp_recalculate()

    assert result["players_changed"] == 1
    assert result["badges_awarded"] == len(expected)
    held = UserBadge.objects.filter(user=player)
    assert {badge.badge.slug for badge in held} == expected
    assert {badge.metadata["source"] for badge in held} == {"recalculation"}
    assert not UserBadge.objects.filter(user=idle).exists()
    assert xp_recalculate()["badges_awarded"] == 0  # never twice
