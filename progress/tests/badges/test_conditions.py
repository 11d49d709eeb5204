from __future__ import annotations

from datetime import date

import pytest

from progress.badges import conditions
from progress.badges.conditions import CompletedChallenge, ConditionError, PlayerStats


class TestValidate:
    @pytest.mark.parametrize(
        "config",
        [
            {"type": "xp", "threshold": 1000},
            {"type": "attempt_count", "count": 1},
            {"type": "challenges_completed", "count": 5},
            {"type": "challenges_completed", "count": 5, "difficulty": "easy"},
            {"type": "challenges_completed", "count": 2, "tag": "sql"},
            {"type": "challenges_completed", "count": 2, "difficulty": "hard", "tag": "sql"},
            {"type": "consecutive_days", "days": 7},
            {"type": "level", "level": 3},
        ],
    )
    def test_valid_conditions_are_returned_unchanged(self, config):
        assert conditions.validate(config) == config

    def test_tag_is_normalized_to_a_lowercase_slug(self):
        config = {"type": "challenges_completed", "count": 2, "tag": " SQL "}
        assert conditions.validate(config) == {"type": "challenges_completed", "count": 2, "tag": "sql"}

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ("xp", "must be a JSON object"),
            ([], "must be a JSON object"),
            ({}, "Unknown condition type None"),
            ({"type": "karma", "count": 1}, "Unknown condition type 'karma'"),
            ({"type": 5}, "Unknown condition type 5"),
            ({"type": "xp"}, "'threshold' is required"),
            ({"type": "xp", "threshold": "100"}, "'threshold' must be a whole number"),
            ({"type": "xp", "threshold": 100.0}, "'threshold' must be a whole number"),
            ({"type": "xp", "threshold": True}, "'threshold' must be a whole number"),
            ({"type": "xp", "threshold": None}, "'threshold' must be a whole number"),
            ({"type": "xp", "threshold": 0}, "'threshold' must be a positive number"),
            ({"type": "xp", "threshold": -5}, "'threshold' must be a positive number"),
            ({"type": "xp", "threshold": 10**12}, "'threshold' must be at most"),
            ({"type": "xp", "threshold": 10, "count": 2}, "Unknown key(s) 'count'"),
            ({"type": "attempt_count"}, "'count' is required"),
            ({"type": "attempt_count", "count": 0}, "positive"),
            ({"type": "challenges_completed", "difficulty": "easy"}, "'count' is required"),
            (
                {"type": "challenges_completed", "count": 1, "difficulty": "epic"},
                "'difficulty' must be one of",
            ),
            ({"type": "challenges_completed", "count": 1, "tag": ""}, "'tag' must be a tag slug"),
            ({"type": "challenges_completed", "count": 1, "tag": 3}, "'tag' must be a tag slug"),
            ({"type": "consecutive_days", "days": -1}, "positive"),
            ({"type": "consecutive_days", "days": "7"}, "whole number"),
            ({"type": "level", "lvl": 3}, "Unknown key(s) 'lvl'"),
            ({"type": "level"}, "'level' is required"),
        ],
    )
    def test_invalid_conditions_are_rejected_with_the_reason(self, config, message):
        with pytest.raises(ConditionError) as caught:
            conditions.validate(config)
        assert message in str(caught.value)


def completed(*rows: tuple[str, tuple[str, ...]]) -> tuple[CompletedChallenge, ...]:
    return tuple(
        CompletedChallenge(challenge_id=n, difficulty=level, tags=frozenset(tags))
        for n, (level, tags) in enumerate(rows)
    )


class TestEvaluate:
    def test_xp_compares_total_xp_with_the_threshold(self):
        condition = conditions.parse({"type": "xp", "threshold": 1000})
        assert not condition.evaluate(PlayerStats(total_xp=999))
        assert condition.evaluate(PlayerStats(total_xp=1000))
        assert condition.progress(PlayerStats(total_xp=250)) == (250, 1000)
        assert condition.progress(PlayerStats(total_xp=5000)) == (1000, 1000)

    def test_level_compares_the_level(self):
        condition = conditions.parse({"type": "level", "level": 3})
        assert not condition.evaluate(PlayerStats(level=2))
        assert condition.evaluate(PlayerStats(level=3))
        assert condition.progress(PlayerStats(level=2)) == (2, 3)

    def test_attempt_count_counts_passed_attempts(self):
        condition = conditions.parse({"type": "attempt_count", "count": 2})
        assert not condition.evaluate(PlayerStats(passed_attempts=1))
        assert condition.evaluate(PlayerStats(passed_attempts=2))
        assert condition.progress(PlayerStats(passed_attempts=1)) == (1, 2)

    def test_challenges_completed_filters_by_difficulty_and_tag(self):
        stats = PlayerStats(
            completed=completed(("easy", ("sql",)), ("easy", ("python",)), ("hard", ("sql", "security")))
        )
        assert conditions.parse({"type": "challenges_completed", "count": 3}).evaluate(stats)
        easy = conditions.parse({"type": "challenges_completed", "count": 3, "difficulty": "easy"})
        assert easy.progress(stats) == (2, 3)
        assert not easy.evaluate(stats)
        sql = conditions.parse({"type": "challenges_completed", "count": 2, "tag": "sql"})
        assert sql.evaluate(stats)
        easy_sql = conditions.parse(
            {"type": "challenges_completed", "count": 2, "difficulty": "easy", "tag": "sql"}
        )
        assert easy_sql.progress(stats) == (1, 2)

    def test_consecutive_days_is_earned_by_any_past_run(self):
        condition = conditions.parse({"type": "consecutive_days", "days": 7})
        assert condition.evaluate(PlayerStats(longest_streak=7, current_streak=0))
        assert not condition.evaluate(PlayerStats(longest_streak=6, current_streak=6))

    def test_consecutive_days_progress_is_the_streak_still_alive(self):
        condition = conditions.parse({"type": "consecutive_days", "days": 7})
        assert condition.progress(PlayerStats(longest_streak=5, current_streak=2)) == (2, 7)
        assert condition.progress(PlayerStats(longest_streak=9, current_streak=0)) == (7, 7)


class TestDescribe:
    @pytest.mark.parametrize(
        ("config", "words"),
        [
            ({"type": "xp", "threshold": 1000}, "Earn 1000 XP in total."),
            ({"type": "attempt_count", "count": 1}, "Pass 1 challenge attempt."),
            ({"type": "attempt_count", "count": 3}, "Pass 3 challenge attempts."),
            (
                {"type": "challenges_completed", "count": 5, "difficulty": "easy"},
                "Complete 5 easy challenges.",
            ),
            (
                {"type": "challenges_completed", "count": 2, "tag": "sql"},
                "Complete 2 challenges tagged 'sql'.",
            ),
            ({"type": "consecutive_days", "days": 7}, "Pass a challenge on 7 consecutive days."),
            ({"type": "level", "level": 3}, "Reach level 3."),
            ({"type": "nope"}, "Unavailable (invalid condition)."),
        ],
    )
    def test_each_condition_reads_as_a_sentence(self, config, words):
        assert conditions.describe(config) == words


class TestKindsChangedBy:
    def test_a_failed_attempt_changes_no_badge(self):
        assert conditions.kinds_changed_by(xp=0, levelled_up=False, passed=False) == frozenset()

    def test_a_pass_that_paid_nothing_still_counts_as_a_pass(self):
        assert conditions.kinds_changed_by(xp=0, levelled_up=False, passed=True) == {
            "attempt_count",
            "challenges_completed",
            "consecutive_days",
        }

    def test_xp_without_a_level_up_leaves_level_badges_alone(self):
        assert conditions.kinds_changed_by(xp=10, levelled_up=False, passed=True) == {
            "xp",
            "xp_in_window",
            "attempt_count",
            "challenges_completed",
            "consecutive_days",
        }

    def test_a_level_up_can_change_every_type(self):
        assert conditions.kinds_changed_by(xp=300, levelled_up=True, passed=True) == set(conditions.REGISTRY)

    def test_needs_load_only_what_the_types_read(self):
        assert conditions.needs_of(["xp", "level"]) == {conditions.STAT_USER}
        assert conditions.needs_of(["attempt_count", "consecutive_days"]) == {conditions.STAT_PASSED_DAYS}
        assert conditions.needs_of(["challenges_completed"]) == {conditions.STAT_COMPLETED}


class TestXpInWindow:
    def test_valid_and_described(self):
        config = {"type": "xp_in_window", "xp": 500, "days": 7}
        assert conditions.validate(config) == config
        assert conditions.describe(config) == "Earn 500 XP within 7 days."

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ({"type": "xp_in_window", "xp": 500}, "'days' is required"),
            ({"type": "xp_in_window", "days": 7}, "'xp' is required"),
            ({"type": "xp_in_window", "xp": 500, "days": 367}, "'days' must be at most 366"),
            ({"type": "xp_in_window", "xp": 0, "days": 7}, "'xp' must be a positive number"),
        ],
    )
    def test_invalid_configs_say_why(self, config, message):
        with pytest.raises(ConditionError, match=message):
            conditions.validate(config)

    def test_counts_only_the_last_days_including_today(self):
        condition = conditions.parse({"type": "xp_in_window", "xp": 50, "days": 2})
        today = date(2025, 1, 10)
        stats = PlayerStats(xp_by_day={today: 20, date(2025, 1, 9): 20, date(2025, 1, 8): 40}, today=today)
        assert condition.progress(stats) == (40, 50)
        assert not condition.evaluate(stats)
        assert condition.evaluate(PlayerStats(xp_by_day={today: 50}, today=today))
