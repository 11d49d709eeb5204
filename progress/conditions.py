"""Badge conditions: one small class per type in one registry. Pure: no I/O.

A condition is stored on the badge as JSON (`{"type": "xp", "threshold": 1000}`). Each class knows
how to validate that JSON, describe it in words, and measure a player against it from a
`PlayerStats` snapshot (loaded once per evaluation by `progress.selectors.player_stats`), so checking
every active badge costs the same few queries however many badges there are.

Each class also declares which award events can change its outcome (`changed_by`) and which stats it
reads (`needs`): the award job evaluates only the types the award could have changed, and loads only
the stats those types read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Award events: what one graded attempt's award can have changed.
XP_GAINED = "xp_gained"  # total_xp went up
LEVEL_GAINED = "level_gained"  # the level went up
ATTEMPT_PASSED = "attempt_passed"  # one more passed attempt (even if it paid 0 XP)

# Stats a condition may read (each is one query in `player_stats`, except the user row's fields).
STAT_USER = "user"  # total_xp, level
STAT_PASSED_DAYS = "passed_days"  # passed attempts per local day: attempt count and streaks
STAT_COMPLETED = "completed"  # distinct passed challenges with difficulty and tags
ALL_STATS = frozenset({STAT_USER, STAT_PASSED_DAYS, STAT_COMPLETED})

DIFFICULTIES = ("easy", "medium", "hard")
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


def _positive_int(config: dict[str, Any], key: str, kind: str, *, required: bool = True) -> int | None:
    if key not in config:
        if required:
            raise ConditionError(f"'{key}' is required for a {kind} condition.")
        return None
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConditionError(f"'{key}' must be a whole number.")
    if value <= 0:
        raise ConditionError(f"'{key}' must be a positive number.")
    if value > MAX_NUMBER:
        raise ConditionError(f"'{key}' must be at most {MAX_NUMBER}.")
    return value


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


class Condition:
    """One condition type. Subclasses set `type`, `keys`, `changed_by`, `needs` and the three methods."""

    type: ClassVar[str]
    keys: ClassVar[frozenset[str]]  # allowed keys besides "type"
    changed_by: ClassVar[frozenset[str]]
    needs: ClassVar[frozenset[str]]

    def __init__(self, config: dict[str, Any]) -> None:
        unknown = set(config) - self.keys - {"type"}
        if unknown:
            raise ConditionError(
                f"Unknown key(s) {', '.join(sorted(map(repr, unknown)))} for a {self.type} condition."
            )
        self.config = config
        self.parse(config)

    def parse(self, config: dict[str, Any]) -> None:
        raise NotImplementedError

    def normalized(self) -> dict[str, Any]:
        """The config as stored: only known keys, "type" first."""
        params = {key: self.config[key] for key in sorted(self.keys) if key in self.config}
        return {"type": self.type, **params}

    def describe(self) -> str:
        raise NotImplementedError

    def progress(self, stats: PlayerStats) -> tuple[int, int]:
        """(current, target) for the player; the badge is earned when current >= target."""
        raise NotImplementedError

    def evaluate(self, stats: PlayerStats) -> bool:
        current, target = self.progress(stats)
        return current >= target


class XpCondition(Condition):
    type = "xp"
    keys = frozenset({"threshold"})
    changed_by = frozenset({XP_GAINED})
    needs = frozenset({STAT_USER})

    def parse(self, config):
        self.threshold = _positive_int(config, "threshold", self.type)

    def describe(self):
        return f"Earn {self.threshold} XP in total."

    def progress(self, stats):
        return min(stats.total_xp, self.threshold), self.threshold


class LevelCondition(Condition):
    type = "level"
    keys = frozenset({"level"})
    changed_by = frozenset({LEVEL_GAINED})
    needs = frozenset({STAT_USER})

    def parse(self, config):
        self.level = _positive_int(config, "level", self.type)

    def describe(self):
        return f"Reach level {self.level}."

    def progress(self, stats):
        return min(stats.level, self.level), self.level


class AttemptCountCondition(Condition):
    type = "attempt_count"
    keys = frozenset({"count"})
    changed_by = frozenset({ATTEMPT_PASSED})
    needs = frozenset({STAT_PASSED_DAYS})

    def parse(self, config):
        self.count = _positive_int(config, "count", self.type)

    def describe(self):
        return f"Pass {_plural(self.count, 'challenge attempt')}."

    def progress(self, stats):
        return min(stats.passed_attempts, self.count), self.count


class ChallengesCompletedCondition(Condition):
    type = "challenges_completed"
    keys = frozenset({"count", "difficulty", "tag"})
    # A pass that paid 0 XP can still be a challenge's first pass (a tiny base rounds to 0).
    changed_by = frozenset({ATTEMPT_PASSED})
    needs = frozenset({STAT_COMPLETED})

    def parse(self, config):
        self.count = _positive_int(config, "count", self.type)
        self.difficulty = config.get("difficulty")
        if "difficulty" in config and self.difficulty not in DIFFICULTIES:
            raise ConditionError(f"'difficulty' must be one of {', '.join(DIFFICULTIES)}.")
        self.tag = config.get("tag")
        if "tag" in config and (not isinstance(self.tag, str) or not self.tag.strip()):
            raise ConditionError("'tag' must be a tag slug (a non-empty string).")
        if self.tag is not None:
            self.tag = self.tag.strip().lower()
            self.config = {**config, "tag": self.tag}

    def describe(self):
        what = "challenge"
        if self.difficulty:
            what = f"{self.difficulty} {what}"
        text = f"Complete {_plural(self.count, what)}"
        if self.tag:
            text += f" tagged '{self.tag}'"
        return text + "."

    def progress(self, stats):
        done = sum(
            1
            for challenge in stats.completed
            if (self.difficulty is None or challenge.difficulty == self.difficulty)
            and (self.tag is None or self.tag in challenge.tags)
        )
        return min(done, self.count), self.count


class ConsecutiveDaysCondition(Condition):
    type = "consecutive_days"
    keys = frozenset({"days"})
    changed_by = frozenset({ATTEMPT_PASSED})
    needs = frozenset({STAT_PASSED_DAYS})

    def parse(self, config):
        self.days = _positive_int(config, "days", self.type)

    def describe(self):
        return f"Pass a challenge on {self.days} consecutive days."

    def evaluate(self, stats):
        # Earned by any run of `days`, even one that has since ended (the job may run late).
        return stats.longest_streak >= self.days

    def progress(self, stats):
        # For an unearned badge the useful figure is the streak the player can still extend.
        if self.evaluate(stats):
            return self.days, self.days
        return min(stats.current_streak, self.days), self.days


REGISTRY: dict[str, type[Condition]] = {
    cls.type: cls
    for cls in (
        XpCondition,
        AttemptCountCondition,
        ChallengesCompletedCondition,
        ConsecutiveDaysCondition,
        LevelCondition,
    )
}


def parse(config: Any) -> Condition:
    """The condition object for a config, or ConditionError saying what is wrong."""
    if not isinstance(config, dict):
        raise ConditionError("A condition must be a JSON object with a 'type'.")
    kind = config.get("type")
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise ConditionError(f"Unknown condition type {kind!r}; expected one of {', '.join(REGISTRY)}.")
    return REGISTRY[kind](config)


def validate(config: Any) -> dict[str, Any]:
    """The normalized config if valid, else ConditionError."""
    return parse(config).normalized()


def describe(config: Any) -> str:
    try:
        return parse(config).describe()
    except ConditionError:
        return "Unavailable (invalid condition)."


def kinds_changed_by(*, xp: int, levelled_up: bool, passed: bool) -> frozenset[str]:
    """The condition types whose outcome one award can have changed.

    A failed attempt pays no XP and adds no pass, so it changes nothing: the job skips badges.
    A passed attempt that paid 0 XP (a retry below an earlier best) still counts as a pass.
    """
    events = set()
    if xp > 0:
        events.add(XP_GAINED)
    if levelled_up:
        events.add(LEVEL_GAINED)
    if passed:
        events.add(ATTEMPT_PASSED)
    return frozenset(kind for kind, cls in REGISTRY.items() if cls.changed_by & events)


def needs_of(kinds: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(REGISTRY[kind].needs for kind in kinds if kind in REGISTRY))
