"""Writing boards: refresh the players of committed awards; rebuild every current board."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from django.utils import timezone
from redis.exceptions import RedisError

from challenges.selectors import challenge_tags, tag_slugs
from progress.boards.backends import Backend, SqlBackend, board_queryset, get_backend
from progress.boards.ranks import Rebuilt
from progress.boards.windows import current_windows
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.leaderboard")


class Awarded(Protocol):
    """What the boards need of an award (or of any other ledger entry that moved a player's XP).

    An award for an attempt also has a `challenge_id`: the boards of that challenge's tags move too.
    """

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def awarded_at(self) -> datetime: ...


def record_awards(awards: Sequence[Awarded], *, lowered: bool = False) -> bool:
    """After awards commit: write those players' absolute XP on every board the awards count for,
    the boards of the awarded challenges' tags included.

    `lowered`: these entries took XP away (a revocation), so the boards must accept a lower score.

    Never raises for Redis: the awards are already committed and the database stays the truth, so
    a failure is logged and repaired by the players' next award or `manage.py rebuild_leaderboard`.
    """
    backend = get_backend()
    if isinstance(backend, SqlBackend):
        return True  # the tables are the boards
    try:
        tags_of = challenge_tags(
            challenge_ids={cid for award in awards if (cid := getattr(award, "challenge_id", None))}
        )
        # Boards are by UTC day: the awards of one day share their boards and one write.
        by_day: dict[date, tuple[datetime, set[uuid.UUID], dict[uuid.UUID, set[str]]]] = {}
        for award in awards:
            day = award.awarded_at.astimezone(UTC).date()
            _, players, player_tags = by_day.setdefault(day, (award.awarded_at, set(), defaultdict(set)))
            players.add(award.user_id)
            challenge_id = getattr(award, "challenge_id", None)
            if challenge_id is not None:
                player_tags[award.user_id].update(tags_of.get(challenge_id, ()))
        for at, players, player_tags in by_day.values():
            tagged = {user_id: tags for user_id, tags in player_tags.items() if tags}
            backend.record(user_ids=sorted(players), at=at, lowered=lowered, tags=tagged)
    except RedisError:
        user_ids = sorted({str(award.user_id) for award in awards})
        logger.warning("leaderboard_update_failed", extra={"user_ids": user_ids}, exc_info=True)
        return False
    return True


def player_forget(*, user_id: uuid.UUID, username: str) -> bool:
    """After an account is erased or its player opted out of public boards (committed): take the
    player off every board at once.

    Never raises for Redis: the account is inactive or hidden in the database, so the next rebuild
    (or the SQL boards) leaves the player out anyway; a failure is logged.
    """
    try:
        get_backend().forget(user_id=user_id, username=username)
    except RedisError:
        logger.warning("leaderboard_forget_failed", extra={"user_id": str(user_id)}, exc_info=True)
        return False
    return True


def player_show(*, user_id: uuid.UUID, at: datetime | None = None) -> bool:
    """After a player opted back in (committed): put them on every current board, tags included.

    Never raises for Redis (as `player_forget`); boards of past windows get them back with a rebuild.
    """
    backend = get_backend()
    if isinstance(backend, SqlBackend):
        return True
    try:
        backend.record(user_ids=[user_id], at=at or timezone.now(), tags={user_id: tag_slugs()})
    except RedisError:
        logger.warning("leaderboard_show_failed", extra={"user_id": str(user_id)}, exc_info=True)
        return False
    return True


def follows_changed(*, user_id: uuid.UUID) -> None:
    """After a change to whom the player follows commits: their friends boards read it afresh.

    Never raises for Redis: the follow is committed, and a follows set left behind by a failure
    expires after `FOLLOWS_SECONDS` without a read.
    """
    backend = get_backend()
    if isinstance(backend, SqlBackend):
        return
    try:
        backend.follows_changed(user_id)
    except RedisError:
        logger.warning("follows_changed_not_recorded", exc_info=True, extra={"user_id": str(user_id)})


def rebuild(
    *,
    at: datetime | None = None,
    on_progress: Callable[[int], object] | None = None,
    backend: Backend | None = None,
) -> list[Rebuilt]:
    """Rebuild every current board (all-time, this week, this month; of every challenge and of
    each tag) from the database."""
    backend = backend or get_backend()
    report = backend.rebuild(current_windows(at, tags=tag_slugs()), on_progress)
    log_event(logger, "leaderboard_rebuilt", backend=backend.name, boards={r.key: r.players for r in report})
    return report


def rebuild_size(*, at: datetime | None = None) -> int:
    """How many board entries `rebuild()` will write (for a progress bar)."""
    return sum(board_queryset(window).count() for window in current_windows(at, tags=tag_slugs()))
