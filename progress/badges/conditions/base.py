"""What every condition type is made of, and the snapshot of a player that conditions measure.

A condition is stored on the badge as JSON (`{"type": "xp", "threshold": 1000}`). Its class owns all
of its rule, in one file of this package:

- validation (`parse`) and the stored form (`normalized`), and the rule in words (`describe`);
- the Python check (`progress`, `evaluate`) against a `PlayerStats` snapshot, loaded for many players
  at once by `progress.badges.stats.load_stats` (one player is a batch of one);
- the statistics it reads (`needs`) and the award events that can change its outcome (`changed_by`),
  so the award job evaluates only the types an award could have changed and loads only their stats;
- its set-based SQL (`qualifying_sql`): every player who meets it, in one SELECT, for recalculation.
  Table and column names come from the models' `_meta`. `progress/tests/badges/test_agreement.py`
  checks, for every registered type, that the Python check and the SQL award the same players.

A subclass that sets `type` registers itself; one that leaves a method out fails at import.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from django.db import connection
from django.db.models import Field, Model

from accounts.models import User
from challenges.models import Attempt

# Award events: what one graded attempt's award can have changed.
XP_GAINED = "xp_gained"  # total_xp went up
LEVEL_GAINED = "level_gained"  # the level went up
ATTEMPT_PASSED = "attempt_passed"  # one more passed attempt (even if it paid 0 XP)

# Stats a condition may read (each is one query per batch in `load_stats`, except the user row's).
STAT_USER = "user"  # total_xp, level
STAT_PASSED_DAYS = "passed_days"  # per local day of passed attempts: count and XP; streaks
STAT_COMPLETED = "completed"  # distinct passed challenges with difficulty and tags
ALL_STATS = frozenset({STAT_USER, STAT_PASSED_DAYS, STAT_COMPLETED})

MAX_NUMBER = 10_000_000


class ConditionError(ValueError):
    """The condition JSON is invalid; the message says why."""


@dataclass(frozen=True)
class CompletedChallenge:
    challenge_id: Any
    difficulty: str
    tags: frozenset[str] = frozenset()  # tag slugs


@dataclass(frozen=True)
class PlayerStats:
    """What conditions measure; a field stays at its zero value when no condition needed it."""

    total_xp: int = 0
    level: int = 1
    passed_attempts: int = 0
    current_streak: int = 0
    longest_streak: int = 0
    completed: tuple[CompletedChallenge, ...] = field(default_factory=tuple)
    # Passed attempts' XP per local calendar day (the player's zone), and that zone's today.
    xp_by_day: Mapping[date, int] = field(default_factory=dict)
    today: date | None = None


REGISTRY: dict[str, type[Condition]] = {}


class Condition(ABC):
    """One condition type. Subclasses set the four class attributes and implement the methods."""

    type: ClassVar[str]
    keys: ClassVar[frozenset[str]]  # allowed keys besides "type"
    changed_by: ClassVar[frozenset[str]]
    needs: ClassVar[frozenset[str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))
            raise TypeError(f"Condition {cls.__name__} must implement: {missing}.")
        for attribute in ("type", "keys", "changed_by", "needs"):
            if not hasattr(cls, attribute):
                raise TypeError(f"Condition {cls.__name__} must set `{attribute}`.")
        if cls.type in REGISTRY:
            raise TypeError(f"Two condition classes for type {cls.type!r}.")
        REGISTRY[cls.type] = cls

    def __init__(self, config: dict[str, Any]) -> None:
        unknown = set(config) - self.keys - {"type"}
        if unknown:
            raise ConditionError(
                f"Unknown key(s) {', '.join(sorted(map(repr, unknown)))} for a {self.type} condition."
            )
        self.config = config
        self.parse(config)

    @abstractmethod
    def parse(self, config: dict[str, Any]) -> None:
        """Validate `config` (ConditionError saying what is wrong) and keep its values."""

    def normalized(self) -> dict[str, Any]:
        """The config as stored: only known keys, "type" first."""
        params = {key: self.config[key] for key in sorted(self.keys) if key in self.config}
        return {"type": self.type, **params}

    @abstractmethod
    def describe(self) -> str:
        """The rule in words, for players."""

    @abstractmethod
    def progress(self, stats: PlayerStats) -> tuple[int, int]:
        """(current, target) for the player; the badge is earned when current >= target."""

    def evaluate(self, stats: PlayerStats) -> bool:
        current, target = self.progress(stats)
        return current >= target

    @abstractmethod
    def qualifying_sql(self, *, now: datetime) -> tuple[str, list[Any]]:
        """A SELECT of `user_id` for every player who meets the condition at `now` (duplicates allowed)."""


# --- Helpers for the classes -------------------------------------------------------------------


def positive_int(config: dict[str, Any], key: str, kind: str) -> int:
    if key not in config:
        raise ConditionError(f"'{key}' is required for a {kind} condition.")
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConditionError(f"'{key}' must be a whole number.")
    if value <= 0:
        raise ConditionError(f"'{key}' must be a positive number.")
    if value > MAX_NUMBER:
        raise ConditionError(f"'{key}' must be at most {MAX_NUMBER}.")
    return value


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def table(model: type[Model]) -> str:
    """The model's quoted table name, for the set-based SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str, alias: str | None = None) -> str:
    """A field's quoted column name (of `alias.` when given), for the set-based SQL."""
    model_field = model._meta.get_field(name)
    assert isinstance(model_field, Field) and model_field.column is not None  # forward, concrete fields only
    quoted = connection.ops.quote_name(model_field.column)
    return f"{alias}.{quoted}" if alias else quoted


def passed_attempts_sql(*, with_day: bool = False) -> tuple[str, list[Any]]:
    """FROM/WHERE of every passed, submitted attempt `a` for the conditions' SQL; with `with_day`,
    joined to its player `u`, so that `local_day_sql()` is the attempt's day in the player's zone."""
    joins = (
        f" JOIN {table(User)} u ON {column(User, 'id', 'u')} = {column(Attempt, 'user', 'a')}"
        if with_day
        else ""
    )
    return (
        f" FROM {table(Attempt)} a{joins} WHERE {column(Attempt, 'status', 'a')} = %s"
        f" AND {column(Attempt, 'submitted_at', 'a')} IS NOT NULL",
        [Attempt.Status.PASSED.value],
    )


def local_day_sql() -> str:
    """The local calendar date, in the player's current zone, of attempt `a` (see progress.streaks)."""
    return f"({column(Attempt, 'submitted_at', 'a')} AT TIME ZONE {column(User, 'timezone', 'u')})::date"
