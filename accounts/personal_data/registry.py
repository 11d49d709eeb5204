"""What each app holds about a player, how it is exported and how it is erased. No I/O at import."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class Holding:
    """Rows of one model about one player, through the foreign key `user_field`.

    `fields` are exported as they are (a section of the export named `name`). `erase` anonymises the
    player's rows when the account is erased: it gets the player's id and their new anonymous
    username; None means the rows hold nothing personal beyond the link to the (anonymised) account,
    and are kept as they are so that others' ranks and the ledger stay consistent.
    """

    name: str
    model: type[Model]
    user_field: str
    fields: tuple[str, ...]
    erase: Callable[[uuid.UUID, str], object] | None = None
    order_by: tuple[str, ...] = ("pk",)

    def rows(self, user_id: uuid.UUID) -> QuerySet:
        manager = self.model._default_manager
        return manager.filter(**{self.user_field: user_id}).order_by(*self.order_by).values(*self.fields)


@dataclass(frozen=True)
class Kept:
    """A foreign key to the user that is not the player's data (e.g. who authored a challenge)."""

    model: type[Model]
    user_field: str
    why: str


_HOLDINGS: dict[str, Holding] = {}
_KEPT: list[Kept] = []


def register(holding: Holding) -> None:
    if holding.name in _HOLDINGS and _HOLDINGS[holding.name] != holding:
        raise ValueError(f"Two holdings named {holding.name!r}.")
    _HOLDINGS[holding.name] = holding


def keep(kept: Kept) -> None:
    if kept not in _KEPT:
        _KEPT.append(kept)


def holdings() -> list[Holding]:
    return list(_HOLDINGS.values())


def kept() -> list[Kept]:
    return list(_KEPT)
