"""Server-side grading: validate a challenge's grading config and score a solution. Pure, no I/O."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

GRADING_TYPES = ("self_reported", "exact", "regex", "numeric")
SOLUTION_MAX_CHARS = 10_000


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
            re.compile(pattern)
        except re.error as exc:
            raise GradingConfigError(f"'pattern' is not a valid regular expression: {exc}.")
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
        return Grade(score=100 if re.fullmatch(config["pattern"], text) else 0)
    try:
        value = float(text)
    except ValueError:
        return Grade(score=0)
    if not math.isfinite(value):
        return Grade(score=0)
    return Grade(score=100 if abs(value - config["answer"]) <= config.get("tolerance", 0) else 0)
