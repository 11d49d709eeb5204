"""Reading boards: a page with ranks, the rows around a player, a friends board, one player's standing.

The database answers when Redis is down. Every board ranks the same way (competition ranking, ties
by username; `progress.boards.ranks`), whether it is every player's, a tag's or a player's friends'.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from redis.exceptions import RedisError

from accounts.models import User
from progress.boards.backends import Backend, SqlBackend, get_backend, on_board, player_xp
from progress.boards.ranks import Entry, Me, Page, Player, Standing, ranked
from progress.boards.windows import Window, window_for

logger = logging.getLogger("skillquest.leaderboard")
BOARDS = ("global", "friends")
AROUND_DEFAULT, AROUND_MAX = 5, 50
T = TypeVar("T")
Rows = list[tuple[uuid.UUID, int]]  # (user_id, xp), best first, ties by username
RankedRows = list[tuple[int | None, uuid.UUID, int]]  # (rank, user_id, xp); None: the viewer off the board


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


def _entries(rows: RankedRows, known: Sequence[User | Player] = ()) -> list[Entry]:
    """Entries for ranked rows: usernames and levels in one query (none for players in `known`)."""
    users: dict[uuid.UUID, User | Player] = {user.pk: user for user in known}
    missing = [user_id for _, user_id, _ in rows if user_id not in users]
    if missing:
        users.update(
            (user.pk, user) for user in User.objects.filter(pk__in=missing).only("id", "username", "level")
        )
    results = []
    for rank, user_id, xp in rows:
        user = users.get(user_id)
        if user is not None:  # deleted since the board was written; the next rebuild drops it
            results.append(Entry(rank, user_id, user.username, xp, user.level))
    return results


def top(
    period: str = "all",
    *,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
    at: datetime | None = None,
    backend: Backend | None = None,
) -> Page:
    """A page of the board: a fixed number of queries whatever `limit` is (usernames and levels in one)."""
    window = window_for(period, at, tag=tag)

    def read(board: Backend) -> tuple[int, Rows, int]:
        count, rows = board.page(window, limit, offset)
        # Only the first row needs a count: the rest of the page ranks itself from it.
        return count, rows, (board.count_above(window, rows[0][1]) + 1 if rows else 0)

    count, rows, first_rank = _read(read, backend)
    results = _entries(list(ranked(rows, first_rank=first_rank, offset=offset)))
    return Page(period=period, count=count, offset=offset, limit=limit, results=results, tag=tag)


def around(
    viewer: User,
    period: str = "all",
    *,
    tag: str | None = None,
    k: int = 5,
    at: datetime | None = None,
    backend: Backend | None = None,
) -> Page:
    """The `k` players above and below the viewer, with their true ranks, and the viewer's row.

    A viewer who opted out of public boards is placed where their XP would rank them (they see
    their rank; nobody else sees them). A viewer with no XP on the board gets `rank` None, after
    the board's last `k` players.
    """
    window = window_for(period, at, tag=tag)

    def read(board: Backend) -> tuple[int, int, RankedRows, Me]:
        if on_board(viewer):
            near = board.neighbours(window, viewer, k)
            if near is not None:  # the usual case: on the board, all of it in one read
                placed: RankedRows = list(ranked(near.rows, first_rank=near.first_rank, offset=near.start))
                return near.count, near.start, placed, Me(near.rank, near.xp, True)
            xp = rank = 0
        else:
            xp = player_xp(window, viewer)
            rank = board.count_above(window, xp) + 1 if xp > 0 else 0
        if xp <= 0:
            count = _count(board, window)
            start = max(0, count - k)
            _, rows = board.page(window, k, start)
            me = Me(rank=None, xp=0, on_board=False)
            return count, start, [*_ranked(board, window, rows, start), (None, viewer.pk, 0)], me
        # Off the public board (opted out): where the ranks put them, before their ties.
        start = max(0, rank - 1 - k)
        count, rows = board.page(window, 2 * k, start)
        rows_ranked = _ranked(board, window, rows, start)
        at_index = rank - 1 - start
        below = rows_ranked[at_index : at_index + k]
        return count, start, [*rows_ranked[:at_index], (rank, viewer.pk, xp), *below], Me(rank, xp, False)

    count, start, rows, me = _read(read, backend)
    return Page(
        period=period,
        count=count,
        offset=start,
        limit=2 * k + 1,
        results=_entries(rows, [viewer]),
        tag=tag,
        me=me,
    )


def friends(
    viewer: User,
    period: str = "all",
    *,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
    around_k: int | None = None,
    at: datetime | None = None,
    backend: Backend | None = None,
) -> Page:
    """The viewer and the players they follow (who show on public boards), ranked among themselves.

    Two reads whatever the board's size: the followed players with their totals (one query; the
    all-time board needs no more) and, for a week, a month or a tag, their XP on that board (one
    ZMSCORE, or one aggregate). With `around_k`, the rows around the viewer instead of a page.
    """
    window = window_for(period, at, tag=tag)
    rows_of_followed = User.objects.filter(
        followers__follower=viewer, is_active=True, leaderboard_visible=True
    ).values_list("id", "username", "level", "total_xp")
    followed, totals = [], {}
    for pk, username, level, total_xp in rows_of_followed:
        followed.append(Player(pk, username, level))
        totals[pk] = total_xp
    me_as_player = Player(viewer.pk, viewer.username, viewer.level)
    members = {player.pk: player for player in (*followed, me_as_player)}

    def read(board: Backend) -> dict[uuid.UUID, int]:
        scores = board.scores(window, followed if not on_board(viewer) else [*followed, me_as_player])
        if not on_board(viewer):
            scores[viewer.pk] = player_xp(window, viewer)
        return scores

    if window.start is None and window.tag is None:
        # All-time XP is every player's total, read with the list itself: the truth the all-time
        # board projects, so no second read (a ZMSCORE of 500 members was half of the request).
        scores = {**totals, viewer.pk: viewer.total_xp}
    else:
        scores = _read(read, backend)
    rows = sorted(
        ((user_id, xp) for user_id, xp in scores.items() if xp > 0),
        key=lambda row: (-row[1], members[row[0]].username.lower()),
    )
    everyone = list(ranked(rows, first_rank=1, offset=0))
    mine = next((row for row in everyone if row[1] == viewer.pk), None)
    me = Me(rank=mine[0], xp=mine[2], on_board=True) if mine else Me(rank=None, xp=0, on_board=False)
    if around_k is None:
        shown: RankedRows = list(everyone[offset : offset + limit])
        start, size = offset, limit
    elif mine is None:
        start = max(0, len(everyone) - around_k)
        shown = [*everyone[start:], (None, viewer.pk, 0)]
        size = 2 * around_k + 1
    else:
        index = everyone.index(mine)
        start = max(0, index - around_k)
        shown = list(everyone[start : index + around_k + 1])
        size = 2 * around_k + 1
    return Page(
        period=period,
        count=len(everyone),
        offset=start,
        limit=size,
        results=_entries(shown, list(members.values())),
        board="friends",
        tag=tag,
        me=me if around_k is not None else None,
    )


def _count(board: Backend, window: Window) -> int:
    count, _ = board.page(window, 0, 0)
    return count


def _ranked(
    board: Backend, window: Window, rows: Rows, start: int
) -> list[tuple[int | None, uuid.UUID, int]]:
    first_rank = board.count_above(window, rows[0][1]) + 1 if rows else 0
    return list(ranked(rows, first_rank=first_rank, offset=start))


def standing_for(
    user: User,
    period: str = "all",
    *,
    tag: str | None = None,
    at: datetime | None = None,
    backend: Backend | None = None,
) -> Standing | None:
    """Rank and XP of an already loaded player (needs id, username, total_xp, is_active and
    leaderboard_visible) on the public board; None without XP there, or when they opted out."""
    window = window_for(period, at, tag=tag)

    def read(board: Backend) -> Standing | None:
        found = board.standing(window, user)
        return Standing(rank=found[1], xp=found[0]) if found else None

    return _read(read, backend)


def own_standing(
    user: User,
    period: str = "all",
    *,
    tag: str | None = None,
    at: datetime | None = None,
    backend: Backend | None = None,
) -> Standing | None:
    """The player's standing as they see it themselves: where their XP ranks them on the public
    board even if they opted out of it (they are not counted in anyone else's rank)."""
    if on_board(user):
        return standing_for(user, period, tag=tag, at=at, backend=backend)
    window = window_for(period, at, tag=tag)
    xp = player_xp(window, user)
    if xp <= 0:
        return None
    return Standing(rank=_read(lambda board: board.count_above(window, xp), backend) + 1, xp=xp)
