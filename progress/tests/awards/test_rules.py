"""XP and level rules: rounding half up, level boundaries, the best-result rule."""

from __future__ import annotations

import pytest

from progress.awards import rules


@pytest.mark.parametrize(
    ("challenge_xp", "score", "expected"),
    [
        (5, 50, 3),  # 2.5 rounds up, not to even
        (15, 50, 8),  # 7.5 -> 8
        (1, 50, 1),  # 0.5 -> 1
        (1, 49, 0),  # 0.49 -> 0
        (100, 95, 95),
        (10, 95, 10),  # 9.5 -> 10
        (30, 95, 29),  # 28.5 -> 29
        (33, 33, 11),  # 10.89 -> 11
        (7, 0, 0),
        (100_000, 100, 100_000),
        (99_999, 1, 1000),  # 999.99 -> 1000
    ],
)
def test_base_xp_rounds_half_up(challenge_xp, score, expected):
    assert rules.base_xp(challenge_xp=challenge_xp, score=score) == expected


def test_failed_attempt_is_worth_nothing():
    assert rules.attempt_base_xp(challenge_xp=100, score=49, pass_score=50) == 0


def test_attempt_at_exactly_the_pass_score_passes():
    assert rules.attempt_base_xp(challenge_xp=100, score=50, pass_score=50) == 50


def test_pass_score_zero_pays_even_a_zero_score_nothing():
    assert rules.attempt_base_xp(challenge_xp=100, score=0, pass_score=0) == 0


@pytest.mark.parametrize(
    ("total_xp", "level"),
    [(0, 1), (1, 1), (99, 1), (100, 2), (399, 2), (400, 3), (899, 3), (900, 4), (10_000, 11)],
)
def test_level_boundaries(total_xp, level):
    assert rules.level_for_xp(total_xp) == level


@pytest.mark.parametrize(("level", "next_xp"), [(1, 100), (2, 400), (3, 900), (10, 10_000)])
def test_next_level_xp_is_where_the_next_level_starts(level, next_xp):
    assert rules.next_level_xp(level) == next_xp
    assert rules.level_for_xp(next_xp) == level + 1
    assert rules.level_for_xp(next_xp - 1) == level


def test_level_progress_runs_from_zero_to_just_under_one():
    assert rules.level_progress(0) == 0.0
    assert rules.level_progress(100) == 0.0
    assert rules.level_progress(250) == 0.5
    assert rules.level_progress(399) == pytest.approx(0.9967, abs=1e-4)


def test_first_award_pays_the_full_base():
    assert rules.award_for(base=80, best_earlier_base=0) == 80


def test_repeating_a_completed_challenge_pays_nothing():
    assert rules.award_for(base=80, best_earlier_base=80) == 0


def test_a_worse_result_pays_nothing():
    assert rules.award_for(base=40, best_earlier_base=80) == 0


def test_a_better_result_pays_only_the_improvement():
    assert rules.award_for(base=95, best_earlier_base=80) == 15


def test_awards_over_repeats_sum_to_the_best_base():
    paid = 0
    for base in [30, 10, 60, 60, 45, 95, 0]:
        paid += rules.award_for(base=base, best_earlier_base=paid)
    assert paid == 95
