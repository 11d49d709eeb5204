"""Reading boards: a page with ranks, one player's standing. The database answers when Redis is down."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from redis.exceptions import RedisError

from accounts.models import User
from progress.boards.backends import Backend, SqlBackend, get_backend
from progress.boards.ranks import Entry, Page, Standing, ranked
from progress.boards.windows import window_for

logger = logging.getLogger("skillquest.leaderboard")
T = TypeVar("T")


def _read(read: Callable[[Backend], T], backend: Backend | None) -> T:
    """Read from `backend`, or from the configured one; if Redis is unreachable, from the database.

    The database is the truth and answers the same (a test proves the backends agree), only slower,
    so players keep their pages while Redis is down.
    """
    if backend is not None:
        return read(backend)
    try:
        return read(get_backend())
    except RedisError:
        logger.warning("leaderboard_read_from_database", exc_info=True)
        return read(SqlBackend())


def top(
    period: str = "all",
    *,
    limit: int = 10,
    offset: int = 0,
    at: datetime | None = None,
    backend: Backend | None = None,
) -> Page:
    """A page of the board: a fixed number of queries whatever `limit` is (usernames and levels in one)."""
    window = window_for(period, at)

    def read(board: Backend) -> tuple[int, list[tuple[uuid.UUID, int]], int]:
        count, rows = board.page(window, limit, offset)
        # Only the first row needs a count: the rest of the page ranks itself from it.
        return count, rows, (board.count_above(window, rows[0][1]) + 1 if rows else 0)

    count, rows, first_rank = _read(read, backend)
    results: list[Entry] = []
    if rows:
        users = User.objects.filter(pk__in=[user_id for user_id, _ in rows]).only("id", "username", "level")
        by_id = {user.pk: user for user in users}
        for rank, user_id, xp in ranked(rows, first_rank=first_rank, offset=offset):
            user = by_id.get(user_id)
            if user is not None:  # deleted since the board was written; the next rebuild drops it
                results.append(Entry(rank, user_id, user.username, xp, user.level))
    return Page(period=period, count=count, offset=offset, limit=limit, results=results)


def standing_for(
    user: User, period: str = "all", *, at: datetime | None = None, backend: Backend | None = None
) -> Standing | None:
    """Rank and XP of an already loaded player (needs id, username, total_xp, is_active); None without XP."""
    window = window_for(period, at)

    def read(board: Backend) -> Standing | None:
        xp = board.xp_of(window, user)
        return Standing(rank=board.count_above(window, xp) + 1, xp=xp) if xp > 0 else None

    return _read(read, backend)


def rank_for(
    user: User, period: str = "all", *, at: datetime | None = None, backend: Backend | None = None
) -> int | None:
    """Rank of an already loaded player (needs id, username, total_xp, is_active); None without XP."""
    standing = standing_for(user, period, at=at, backend=backend)
    return standing.rank if standing else None
