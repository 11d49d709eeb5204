"""What every quest kind is made of, and the day of play that kinds measure.

A quest is stored as a kind and its params (`kind="pass_tag"`, `params={"tag": "sql", "count": 2}`).
Its class owns all of its rule, in one file of this package:

- validation of the params (`parse`: a `QuestParamsError` saying what is wrong), their stored form
  (`normalized`) and the rule in words (`describe`);
- its `target`, and its `progress` over one local day of one player, measured on a `Day` that
  `progress.quests.days.load_days` loads for every player of an award batch at once;
- whether it reads the tags of the day's challenges (`needs_tags`), so that a batch loads them only
  when an active quest asks;
- `check_references`: the rows its params name (a tag must exist), checked when staff save it, never
  in the award job.

A subclass that sets `kind` registers itself; one that leaves a method out fails at import.
"""

from __future__ import annotations

import inspect
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

MAX_COUNT = 1_000
MAX_XP = 1_000_000


class QuestParamsError(ValueError):
    """A quest's kind or params are invalid; `field` is the request field to blame ("kind" or "params")."""

    def __init__(self, message: str, *, field: str = "params") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class PassedChallenge:
    challenge_id: uuid.UUID
    difficulty: str
    tags: frozenset[str] = frozenset()  # slugs; empty unless a quest `needs_tags`


@dataclass(frozen=True)
class Day:
    """One player's local day of play, as far as it has been awarded.

    `passed`: each distinct challenge they passed that day (a repeat of an old challenge counts too:
    a quest asks what you did today). `xp`: what that day's attempts paid, with their event bonuses;
    quest rewards, staff grants and recalculations are not play and do not count.
    """

    passed: tuple[PassedChallenge, ...] = ()
    xp: int = 0


REGISTRY: dict[str, type[QuestKind]] = {}


class QuestKind(ABC):
    """One quest kind. Subclasses set `kind` and `keys` and implement the abstract methods."""

    kind: ClassVar[str]
    keys: ClassVar[frozenset[str]]  # the params it takes, all required unless `parse` says otherwise
    needs_tags: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))
            raise TypeError(f"Quest kind {cls.__name__} must implement: {missing}.")
        for attribute in ("kind", "keys"):
            if not hasattr(cls, attribute):
                raise TypeError(f"Quest kind {cls.__name__} must set `{attribute}`.")
        if cls.kind in REGISTRY:
            raise TypeError(f"Two quest classes for kind {cls.kind!r}.")
        REGISTRY[cls.kind] = cls

    def __init__(self, params: Any) -> None:
        if not isinstance(params, dict):
            raise QuestParamsError(f"A {self.kind} quest's params must be a JSON object.")
        unknown = set(params) - self.keys
        if unknown:
            raise QuestParamsError(
                f"Unknown param(s) {', '.join(sorted(map(repr, unknown)))} for a {self.kind} quest."
            )
        self.params = params
        self.parse(params)

    @abstractmethod
    def parse(self, params: dict[str, Any]) -> None:
        """Validate `params` (QuestParamsError saying what is wrong) and keep their values."""

    def normalized(self) -> dict[str, Any]:
        """The params as stored: only known keys, in a stable order."""
        return {key: self.params[key] for key in sorted(self.keys) if key in self.params}

    @property
    @abstractmethod
    def target(self) -> int:
        """What `progress` must reach."""

    @abstractmethod
    def progress(self, day: Day) -> int:
        """How far the player got on `day` (may exceed the target)."""

    @abstractmethod
    def describe(self) -> str:
        """The rule in words, for players."""

    def check_references(self) -> None:
        """Refuse params naming rows that do not exist (QuestParamsError); only staff saves call it."""
        return None


def positive_int(params: dict[str, Any], key: str, kind: str, *, maximum: int) -> int:
    if key not in params:
        raise QuestParamsError(f"'{key}' is required for a {kind} quest.")
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise QuestParamsError(f"'{key}' must be a whole number.")
    if not 1 <= value <= maximum:
        raise QuestParamsError(f"'{key}' must be between 1 and {maximum:,}.")
    return value


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
