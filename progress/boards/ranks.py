"""What boards answer, and competition ranking (1, 2, 2, 4). Pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

Row = tuple[int, uuid.UUID, int]  # (rank, user_id, xp)


class Player(NamedTuple):
    """What a board shows of a player besides their XP, without a model instance (a friends board
    reads hundreds)."""

    pk: uuid.UUID
    username: str
    level: int


@dataclass(frozen=True)
class Entry:
    rank: int | None  # None only for a viewer's own row on a board they have no XP on
    user_id: uuid.UUID
    username: str
    xp: int
    level: int


@dataclass(frozen=True)
class Me:
    """The viewer's own standing on a board, shown even when they are not on it."""

    rank: int | None  # None: no XP on this board
    xp: int
    on_board: (
        bool  # False: no XP here, or opted out of public boards (their rank is then where they would be)
    )


@dataclass(frozen=True)
class Page:
    period: str
    count: int  # players on the whole board
    offset: int
    limit: int
    results: list[Entry]
    board: str = "global"  # "global": every player; "friends": the viewer and whom they follow
    tag: str | None = None  # a tag board's slug
    me: Me | None = None  # the viewer's standing, for `around=me` answers


@dataclass(frozen=True)
class Standing:
    rank: int
    xp: int


@dataclass(frozen=True)
class Neighbours:
    """A player on a board and the rows around them: the board's order from `start` (0-based). A
    player off the board has `rank` None and 0 XP, and the rows are the board's last ones."""

    xp: int
    rank: int | None
    start: int
    count: int  # players on the whole board
    rows: list[tuple[uuid.UUID, int]]
    first_rank: int  # the rank of rows[0]: the rest rank themselves from it


@dataclass(frozen=True)
class FriendsRows:
    """Rows of a friends board as Redis ranks them: from the 0-based position `start`, and the
    viewer's (rank, xp), None when they have no XP there."""

    count: int  # the viewer and the players they follow with XP on the board
    start: int
    rows: list[Row]
    me: tuple[int, int] | None


@dataclass(frozen=True)
class Rebuilt:
    key: str
    players: int


def ranked(rows: list[tuple[uuid.UUID, int]], *, first_rank: int, offset: int) -> list[Row]:
    """Competition ranks for a page: a row ties with the one before it or takes its 1-based position."""
    result: list[Row] = []
    for index, (user_id, xp) in enumerate(rows):
        if index == 0:
            rank = first_rank
        elif xp != result[-1][2]:
            rank = offset + index + 1
        else:
            rank = result[-1][0]
        result.append((rank, user_id, xp))
    return result
