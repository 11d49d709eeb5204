"""Badge conditions: one class per type, one type per module of this package (see `base`).

Every module here is imported below, so a class that sets `type` is registered and used everywhere
(validation, the award job, the progress page, recalculation) with no other change.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any

from progress.badges.conditions.base import (
    ALL_STATS,
    ATTEMPT_PASSED,
    LEVEL_GAINED,
    REGISTRY,
    STAT_COMPLETED,
    STAT_PASSED_DAYS,
    STAT_USER,
    XP_GAINED,
    CompletedChallenge,
    Condition,
    ConditionError,
    PlayerStats,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "ALL_STATS",
    "ATTEMPT_PASSED",
    "LEVEL_GAINED",
    "REGISTRY",
    "STAT_COMPLETED",
    "STAT_PASSED_DAYS",
    "STAT_USER",
    "XP_GAINED",
    "CompletedChallenge",
    "Condition",
    "ConditionError",
    "PlayerStats",
    "describe",
    "kinds_changed_by",
    "needs_of",
    "parse",
    "validate",
]


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
