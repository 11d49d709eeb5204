"""Writing boards: refresh the players of committed awards; rebuild every current board."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from redis.exceptions import RedisError

from progress.boards.backends import Backend, board_queryset, get_backend
from progress.boards.ranks import Rebuilt
from progress.boards.windows import PERIODS, current_windows, window_for
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.leaderboard")


class Awarded(Protocol):
    """What the boards need of an award."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def awarded_at(self) -> datetime: ...


def record_awards(awards: Sequence[Awarded], *, lowered: bool = False) -> bool:
    """After awards commit: write those players' absolute XP on every board the awards count for.

    `lowered`: these entries took XP away (a revocation), so the boards must accept a lower score.

    Never raises for Redis: the awards are already committed and the database stays the truth, so
    a failure is logged and repaired by the players' next award or `manage.py rebuild_leaderboard`.
    """
    by_windows: dict[tuple[str, ...], tuple[datetime, set[uuid.UUID]]] = {}
    keys_of_day: dict[date, tuple[str, ...]] = {}  # boards are by UTC day: one lookup per day
    for award in awards:
        day = award.awarded_at.astimezone(UTC).date()
        keys = keys_of_day.get(day)
        if keys is None:
            keys = keys_of_day[day] = tuple(window_for(period, award.awarded_at).key for period in PERIODS)
        at, players = by_windows.setdefault(keys, (award.awarded_at, set()))
        players.add(award.user_id)
    backend = get_backend()
    try:
        for at, players in by_windows.values():
            backend.record(user_ids=sorted(players), at=at, lowered=lowered)
    except RedisError:
        user_ids = sorted({str(award.user_id) for award in awards})
        logger.warning("leaderboard_update_failed", extra={"user_ids": user_ids}, exc_info=True)
        return False
    return True


def player_forget(*, user_id: uuid.UUID, username: str) -> bool:
    """After an account is erased (committed): take the player off every board at once.

    Never raises for Redis: the account is inactive in the database, so the next rebuild (or the
    SQL boards) leaves the player out anyway; a failure is logged.
    """
    try:
        get_backend().forget(user_id=user_id, username=username)
    except RedisError:
        logger.warning("leaderboard_forget_failed", extra={"user_id": str(user_id)}, exc_info=True)
        return False
    return True


def rebuild(
    *,
    at: datetime | None = None,
    on_progress: Callable[[int], object] | None = None,
    backend: Backend | None = None,
) -> list[Rebuilt]:
    """Rebuild every current board (all-time, this week, this month) from the database."""
    backend = backend or get_backend()
    report = backend.rebuild(current_windows(at), on_progress)
    log_event(logger, "leaderboard_rebuilt", backend=backend.name, boards={r.key: r.players for r in report})
    return report


def rebuild_size(*, at: datetime | None = None) -> int:
    """How many board entries `rebuild()` will write (for a progress bar)."""
    return sum(board_queryset(window).count() for window in current_windows(at))
