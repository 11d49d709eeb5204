"""Reading boards: a page with ranks, the rows around a player, a friends board, one player's standing.

The database answers when Redis is down. Every board ranks the same way (competition ranking, ties
by username; `progress.boards.ranks`), whether it is every player's, a tag's or a player's friends'.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from django.db import connections, router
from django.db.models import CharField, IntegerField
from redis.exceptions import RedisError

from accounts.models import User
from progress.badges.conditions.base import column, table
from progress.boards.backends import Backend, RedisBackend, SqlBackend, get_backend, on_board, player_xp
from progress.boards.ranks import Entry, FriendsRows, Me, Page, Player, Standing, ranked
from progress.boards.windows import Window, window_for
from skillquest import sql

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
        users.update((player.pk, player) for player in _players(missing))
    results = []
    for rank, user_id, xp in rows:
        user = users.get(user_id)
        if user is not None:  # deleted since the board was written; the next rebuild drops it
            results.append(Entry(rank, user_id, user.username, xp, user.level))
    return results


def _players(ids: Sequence[uuid.UUID]) -> list[Player]:
    """Usernames and levels of these players, by a statement built once per vendor: every board read
    runs it, and compiling the ORM's `pk__in` query cost as much as PostgreSQL's answer (bench/README.md,
    issue 14)."""
    connection = connections[router.db_for_read(User)]
    prepare = User._meta.pk.get_db_prep_value
    values = [prepare(pk, connection) for pk in ids]
    many = connection.vendor == "postgresql"  # one array parameter; elsewhere one parameter per id
    rows = sql.fetch_values(
        _players_statement(connection.vendor, 0 if many else len(values)),
        [values] if many else values,
        [User._meta.pk, CharField(), IntegerField()],
    )
    return [Player(*row) for row in rows]


@functools.lru_cache(maxsize=256)
def _players_statement(vendor: str, count: int) -> str:
    """`_players`' SELECT: `= ANY(%s)` of an array on PostgreSQL, else `IN` with `count` parameters."""
    match = "= ANY(%s)" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * count)})"
    fields = ", ".join(column(User, name, "u") for name in ("id", "username", "level"))
    return f"SELECT {fields} FROM {table(User)} u WHERE {column(User, 'id', 'u')} {match}"  # noqa: S608 (model metadata only)


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
        xp = None if on_board(viewer) else player_xp(window, viewer)
        if xp is None or xp <= 0:  # the usual case: all of it in one read
            near = board.neighbours(window, viewer, k)
            placed: RankedRows = list(ranked(near.rows, first_rank=near.first_rank, offset=near.start))
            if near.rank is None:  # no XP on this board: after its last k players
                return near.count, near.start, [*placed, (None, viewer.pk, 0)], Me(None, 0, False)
            return near.count, near.start, placed, Me(near.rank, near.xp, True)
        rank = board.count_above(window, xp) + 1
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
    With `around_k`, the rows around the viewer instead of a page.

    On Redis, one script whatever the board's size: the viewer's follows set intersected with the
    board, ranked there (`RedisBackend.friends`), and the names of the rows shown. On the database
    (the quickstart, Redis down), or for a viewer who opted out of public boards (only they see
    themselves on it), the followed players and their XP are read and ranked here.
    """
    window = window_for(period, at, tag=tag)

    def read(board: Backend) -> Page:
        if isinstance(board, RedisBackend) and on_board(viewer):
            found = board.friends(
                window,
                viewer,
                lambda: _followed(viewer, primary=True),
                limit=limit,
                offset=offset,
                around_k=around_k,
            )
            if found is not None:
                return _friends_page(found, viewer, window, limit=limit, around_k=around_k)
        return _friends_ranked_here(board, window, viewer, limit=limit, offset=offset, around_k=around_k)

    return _read(read, backend)


def _followed(viewer: User, *, visible_only: bool = False, primary: bool = False) -> list[Player]:
    """The players the viewer follows; with `visible_only`, those who show on public boards; with
    `primary`, as the primary database has them (never a replica behind it)."""
    players = User.objects.using(router.db_for_write(User)) if primary else User.objects
    followed = players.filter(followers__follower=viewer)
    if visible_only:
        followed = followed.filter(is_active=True, leaderboard_visible=True)
    return [Player(*row) for row in followed.values_list("id", "username", "level")]


def _friends_page(
    found: FriendsRows, viewer: User, window: Window, *, limit: int, around_k: int | None
) -> Page:
    """A friends board as Redis ranked it; the viewer's own row, rank None, after the last `around_k`
    rows when they have no XP on it."""
    me = Me(None, 0, False) if found.me is None else Me(rank=found.me[0], xp=found.me[1], on_board=True)
    rows: RankedRows = list(found.rows)
    if around_k is not None and found.me is None:
        rows.append((None, viewer.pk, 0))
    return Page(
        period=window.period,
        count=found.count,
        offset=found.start,
        limit=limit if around_k is None else 2 * around_k + 1,
        results=_entries(rows, [viewer]),
        board="friends",
        tag=window.tag,
        me=me if around_k is not None else None,
    )


def _friends_ranked_here(
    board: Backend, window: Window, viewer: User, *, limit: int, offset: int, around_k: int | None
) -> Page:
    """A friends board from the followed players' XP on `board`, ranked here: two reads whatever its
    size (the followed players, then their XP in one ZMSCORE or one aggregate)."""
    followed = _followed(viewer, visible_only=True)
    me_as_player = Player(viewer.pk, viewer.username, viewer.level)
    members = {player.pk: player for player in (*followed, me_as_player)}
    scores = board.scores(window, followed if not on_board(viewer) else [*followed, me_as_player])
    if not on_board(viewer):
        scores[viewer.pk] = player_xp(window, viewer)
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
        period=window.period,
        count=len(everyone),
        offset=start,
        limit=size,
        results=_entries(shown, list(members.values())),
        board="friends",
        tag=window.tag,
        me=me if around_k is not None else None,
    )


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
