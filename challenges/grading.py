"""Server-side grading: validate a challenge's grading config and score a solution. Pure, no I/O.

Staff regexes run under a time limit (the `regex` package's `timeout`; Python's `re` has none), so
a pattern with catastrophic backtracking cannot hold a web process: it grades as failed in
REGEX_TIMEOUT_SECONDS and the Grade says it timed out (the caller logs it). Saving a pattern also
tries it on long runs of the characters it names (`_probes`), so most such patterns are refused
before any player meets them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import regex

GRADING_TYPES = ("self_reported", "exact", "regex", "numeric")
SOLUTION_MAX_CHARS = 10_000
# A timed-out match answers well inside the 100 ms a submit may spend on it.
REGEX_TIMEOUT_SECONDS = 0.05
REGEX_PROBE_LENGTH = 40


class GradingConfigError(ValueError):
    """The grading config is invalid; the message says why."""


class SubmissionError(ValueError):
    """The submission cannot be graded; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Grade:
    score: int
    timed_out: bool = False  # a regex that ran out of time: graded as failed


def _require(config: dict[str, Any], key: str, kinds: tuple[type, ...], label: str) -> Any:
    if key not in config:
        raise GradingConfigError(f"'{key}' is required for {config['type']} grading.")
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise GradingConfigError(f"'{key}' must be {label}.")
    return value


def validate_config(config: Any) -> dict[str, Any]:
    """Return the config if valid, else raise GradingConfigError."""
    if not isinstance(config, dict):
        raise GradingConfigError("Grading must be a JSON object with a 'type'.")
    kind = config.get("type")
    if kind not in GRADING_TYPES:
        raise GradingConfigError(
            f"Unknown grading type {kind!r}; expected one of {', '.join(GRADING_TYPES)}."
        )
    allowed = {"type"}
    if kind == "exact":
        answer = _require(config, "answer", (str,), "a string")
        if not answer.strip():
            raise GradingConfigError("'answer' must not be empty.")
        if "case_sensitive" in config and not isinstance(config["case_sensitive"], bool):
            raise GradingConfigError("'case_sensitive' must be true or false.")
        allowed |= {"answer", "case_sensitive"}
    elif kind == "regex":
        pattern = _require(config, "pattern", (str,), "a string")
        try:
            compiled = regex.compile(pattern)
        except regex.error as exc:
            raise GradingConfigError(f"'pattern' is not a valid regular expression: {exc}.")
        for probe in _probes(pattern):
            try:
                compiled.fullmatch(probe, timeout=REGEX_TIMEOUT_SECONDS)
            except TimeoutError:
                raise GradingConfigError(
                    f"'pattern' takes too long to match (catastrophic backtracking on {probe[:12]!r}...); "
                    "simplify nested repetitions such as (a|aa)+."
                )
        allowed |= {"pattern"}
    elif kind == "numeric":
        answer = _require(config, "answer", (int, float), "a number")
        tolerance = config.get("tolerance", 0)
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise GradingConfigError("'tolerance' must be a number >= 0.")
        if not (math.isfinite(answer) and math.isfinite(tolerance)):
            raise GradingConfigError("'answer' and 'tolerance' must be finite numbers.")
        allowed |= {"answer", "tolerance"}
    unknown = set(config) - allowed
    if unknown:
        raise GradingConfigError(f"Unknown keys for {kind} grading: {', '.join(sorted(unknown))}.")
    return config


def _probes(pattern: str) -> list[str]:
    """Inputs that make a backtracking pattern explode: a long run of one character the pattern names
    (or of a letter, a digit, a space), or of two it names side by side (`ab` in `(a|ab|b)*`), then a
    character that fails the match at the very end."""
    singles = dict.fromkeys(c for c in pattern if c.isalnum() or c == " ")
    singles.update(dict.fromkeys("a0 "))
    pairs = dict.fromkeys(
        a + b for a, b in itertools.pairwise(pattern) if a.isalnum() and b.isalnum() and a != b
    )
    runs = [c * REGEX_PROBE_LENGTH for c in list(singles)[:16]]
    runs += [pair * (REGEX_PROBE_LENGTH // 2) for pair in list(pairs)[:16]]
    return [run + "\x00" for run in runs]


def needs_solution(config: dict[str, Any]) -> bool:
    return config.get("type", "self_reported") != "self_reported"


def grade(config: dict[str, Any], *, score: Any = None, solution: str | None = None) -> Grade:
    """Score a submission from 0 to 100. A client score counts only for self-reported challenges."""
    kind = config.get("type", "self_reported")
    if kind == "self_reported":
        if score is None:
            raise SubmissionError("score", "A score from 0 to 100 is required for this challenge.")
        return Grade(score=int(score))
    if solution is None or not str(solution).strip():
        raise SubmissionError("solution", "A solution is required for this challenge.")
    text = str(solution).strip()
    if kind == "exact":
        expected = config["answer"].strip()
        if config.get("case_sensitive", False):
            return Grade(score=100 if text == expected else 0)
        return Grade(score=100 if text.casefold() == expected.casefold() else 0)
    if kind == "regex":
        try:
            matched = regex.fullmatch(config["pattern"], text, timeout=REGEX_TIMEOUT_SECONDS)
        except TimeoutError:
            return Grade(score=0, timed_out=True)
        return Grade(score=100 if matched else 0)
    try:
        value = float(text)
    except ValueError:
        return Grade(score=0)
    if not math.isfinite(value):
        return Grade(score=0)
    return Grade(score=100 if abs(value - config["answer"]) <= config.get("tolerance", 0) else 0)
