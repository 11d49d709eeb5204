"""Quest kinds: one class per kind, one kind per module of this package (see `base`).

Every module here is imported below, so a class that sets `kind` is registered and used everywhere
(validation in the API and the admin, the award job, the pages) with no other change.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from progress.quests.kinds.base import REGISTRY, Day, PassedChallenge, QuestKind, QuestParamsError

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

# The kinds staff may choose, in the API schema (its enum, named in SPECTACULAR_SETTINGS) and the admin.
KIND_CHOICES = [(kind, kind) for kind in sorted(REGISTRY)]

__all__ = [
    "KIND_CHOICES",
    "REGISTRY",
    "Day",
    "PassedChallenge",
    "QuestKind",
    "QuestParamsError",
    "describe",
    "parse",
]


def parse(kind: Any, params: Any) -> QuestKind:
    """The quest kind object for `kind` and `params`, or QuestParamsError saying what is wrong."""
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise QuestParamsError(
            f"Unknown quest kind {kind!r}; expected one of {', '.join(REGISTRY)}.", field="kind"
        )
    return REGISTRY[kind](params)


def describe(kind: Any, params: Any) -> str:
    try:
        return parse(kind, params).describe()
    except QuestParamsError:
        return "Unavailable (invalid quest)."
