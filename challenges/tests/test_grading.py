"""Server-side grading: each grading type and the validation of grading configs."""

from __future__ import annotations

import math
import time

import pytest

from challenges import grading


class TestSelfReported:
    def test_the_client_score_is_taken(self):
        assert grading.grade({"type": "self_reported"}, score=73).score == 73

    def test_a_missing_score_is_a_submission_error_on_score(self):
        with pytest.raises(grading.SubmissionError) as error:
            grading.grade({"type": "self_reported"}, solution="anything")
        assert error.value.field == "score"

    def test_it_needs_no_solution(self):
        assert grading.needs_solution({"type": "self_reported"}) is False


class TestExact:
    config = {"type": "exact", "answer": "Paris"}

    @pytest.mark.parametrize("solution", ["Paris", "paris", "  PARIS \n"])
    def test_case_insensitive_by_default_and_trimmed(self, solution):
        assert grading.grade(self.config, solution=solution).score == 100

    def test_a_wrong_answer_scores_zero(self):
        assert grading.grade(self.config, solution="Lyon").score == 0

    def test_case_sensitive_rejects_other_case(self):
        config = {**self.config, "case_sensitive": True}
        assert grading.grade(config, solution="Paris").score == 100
        assert grading.grade(config, solution="paris").score == 0

    def test_the_client_score_is_ignored(self):
        assert grading.grade(self.config, score=100, solution="Lyon").score == 0

    @pytest.mark.parametrize("solution", [None, "", "   "])
    def test_a_missing_solution_is_a_submission_error_on_solution(self, solution):
        with pytest.raises(grading.SubmissionError) as error:
            grading.grade(self.config, score=100, solution=solution)
        assert error.value.field == "solution"

    def test_it_needs_a_solution(self):
        assert grading.needs_solution(self.config) is True


class TestRegex:
    config = {"type": "regex", "pattern": r"[a-z0-9]+(-[a-z0-9]+)*"}

    def test_a_full_match_scores_100(self):
        assert grading.grade(self.config, solution="hello-world-2").score == 100

    def test_a_partial_match_scores_zero(self):
        assert grading.grade(self.config, solution="hello world").score == 0

    def test_a_match_in_time_is_not_marked_timed_out(self):
        assert grading.grade(self.config, solution="hello-world-2").timed_out is False

    def test_a_catastrophic_pattern_grades_as_failed_within_its_time_limit(self):
        # Saved before patterns were probed (validation refuses it now): (a|aa)+ backtracks through
        # every way of splitting the run, about 10^8 paths for 40 characters, before it fails at "!".
        config = {"type": "regex", "pattern": "(a|aa)+$"}
        started = time.perf_counter()
        result = grading.grade(config, solution="a" * 40 + "!")
        elapsed = time.perf_counter() - started
        assert (result.score, result.timed_out) == (0, True)
        assert (
            elapsed < 10 * grading.REGEX_TIMEOUT_SECONDS
        )  # generous for a loaded machine, yet far from 10^8 paths

    @pytest.mark.parametrize("pattern", ["(a|aa)+$", "(x|xx|xxx)+y", "^(a|ab|b)*$"])
    def test_saving_a_catastrophic_pattern_is_refused(self, pattern):
        with pytest.raises(grading.GradingConfigError, match="takes too long to match"):
            grading.validate_config({"type": "regex", "pattern": pattern})

    @pytest.mark.parametrize(
        "pattern", [r"[a-z0-9]+(-[a-z0-9]+)*", r"(\w+\s?)*", r"(a+)+", r"\d{3}-\d{4}", "Paris|paris"]
    )
    def test_ordinary_patterns_are_accepted(self, pattern):
        assert grading.validate_config({"type": "regex", "pattern": pattern})["pattern"] == pattern
        assert grading.grade(self.config, solution="Hello-world").score == 0

    def test_the_client_score_is_ignored(self):
        assert grading.grade(self.config, score=100, solution="NOT A SLUG").score == 0


class TestNumeric:
    config = {"type": "numeric", "answer": 3.14, "tolerance": 0.005}

    @pytest.mark.parametrize("solution", ["3.14", "3.144", "3.136", " 3.14 ", "314e-2"])
    def test_within_tolerance_scores_100(self, solution):
        assert grading.grade(self.config, solution=solution).score == 100

    @pytest.mark.parametrize("solution", ["3.15", "3.1", "pi", "nan", "inf", "-inf"])
    def test_outside_tolerance_or_not_a_finite_number_scores_zero(self, solution):
        assert grading.grade(self.config, solution=solution).score == 0

    def test_zero_tolerance_by_default_is_exact(self):
        config = {"type": "numeric", "answer": 385}
        assert grading.grade(config, solution="385").score == 100
        assert grading.grade(config, solution="385.0001").score == 0

    def test_the_client_score_is_ignored(self):
        assert grading.grade(self.config, score=100, solution="2").score == 0


class TestConfigValidation:
    @pytest.mark.parametrize(
        "config",
        [
            {"type": "self_reported"},
            {"type": "exact", "answer": "x"},
            {"type": "exact", "answer": "x", "case_sensitive": True},
            {"type": "regex", "pattern": "a+"},
            {"type": "numeric", "answer": 1},
            {"type": "numeric", "answer": 1.5, "tolerance": 0},
        ],
    )
    def test_valid_configs_are_returned_unchanged(self, config):
        assert grading.validate_config(config) == config

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ("exact", "JSON object"),
            (["exact"], "JSON object"),
            (None, "JSON object"),
            ({}, "Unknown grading type"),
            ({"type": "essay"}, "Unknown grading type"),
            ({"type": "exact"}, "'answer' is required"),
            ({"type": "exact", "answer": 42}, "'answer' must be a string"),
            ({"type": "exact", "answer": "  "}, "must not be empty"),
            ({"type": "exact", "answer": "x", "case_sensitive": "yes"}, "'case_sensitive'"),
            ({"type": "regex"}, "'pattern' is required"),
            ({"type": "regex", "pattern": ["a"]}, "'pattern' must be a string"),
            ({"type": "regex", "pattern": "(unclosed"}, "not a valid regular expression"),
            ({"type": "numeric"}, "'answer' is required"),
            ({"type": "numeric", "answer": "3.14"}, "'answer' must be a number"),
            ({"type": "numeric", "answer": True}, "'answer' must be a number"),
            ({"type": "numeric", "answer": math.nan}, "finite"),
            ({"type": "numeric", "answer": math.inf}, "finite"),
            ({"type": "numeric", "answer": 1, "tolerance": math.inf}, "finite"),
            ({"type": "numeric", "answer": 1, "tolerance": -0.1}, "'tolerance'"),
            ({"type": "numeric", "answer": 1, "tolerance": "0.1"}, "'tolerance'"),
            ({"type": "numeric", "answer": 1, "tolerance": False}, "'tolerance'"),
            ({"type": "self_reported", "answer": "leak"}, "Unknown keys"),
            ({"type": "exact", "answer": "x", "pattern": "x"}, "Unknown keys"),
            ({"type": "numeric", "answer": 1, "case_sensitive": True}, "Unknown keys"),
        ],
    )
    def test_invalid_configs_are_rejected_with_a_reason(self, config, message):
        with pytest.raises(grading.GradingConfigError, match=message):
            grading.validate_config(config)
