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
from progress.boards.backends import Backend, SqlBackend, get_backend, on_board, player_xp
from progress.boards.ranks import Entry, Me, Page, Player, Standing, ranked
from progress.boards.windows import Window, window_for
from progress.models import Follow
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

    Two reads whatever the board's size: the followed players (one query) and their XP on that
    board (one ZMSCORE, or one aggregate); the all-time board is one query in all
    (`_friends_all_time`). With `around_k`, the rows around the viewer instead of a page.
    """
    window = window_for(period, at, tag=tag)
    if window.start is None and window.tag is None:
        return _friends_all_time(viewer, period, limit=limit, offset=offset, around_k=around_k)
    followed = [
        Player(*row)
        for row in User.objects.filter(
            followers__follower=viewer, is_active=True, leaderboard_visible=True
        ).values_list("id", "username", "level")
    ]
    me_as_player = Player(viewer.pk, viewer.username, viewer.level)
    members = {player.pk: player for player in (*followed, me_as_player)}

    def read(board: Backend) -> dict[uuid.UUID, int]:
        scores = board.scores(window, followed if not on_board(viewer) else [*followed, me_as_player])
        if not on_board(viewer):
            scores[viewer.pk] = player_xp(window, viewer)
        return scores

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


def _friends_all_time(viewer: User, period: str, *, limit: int, offset: int, around_k: int | None) -> Page:
    """The all-time friends board in one statement, ranked by the database: all-time XP is every
    player's total, so the players' rows hold it, and only the rows shown leave the database (with
    500 followed players, reading them all into Python to rank them there cost half the request;
    bench/README.md, issue 14)."""
    connection = connections[router.db_for_read(User)]
    viewer_id = User._meta.pk.get_db_prep_value(viewer.pk, connection)
    params = [viewer_id, viewer_id]
    params += [viewer_id, around_k, around_k] if around_k is not None else [offset, offset + limit]
    rows = sql.fetch_values(
        _friends_statement(connection.vendor, around=around_k is not None),
        params,
        [IntegerField(), User._meta.pk, CharField(), *(IntegerField(),) * 4],
    )
    entries = [Entry(rank, user_id, username, xp, level) for rank, user_id, username, level, xp, _, _ in rows]
    count, start = (rows[0][6], rows[0][5]) if rows else (0, 0)
    if around_k is None:
        return Page(period=period, count=count, offset=offset, limit=limit, results=entries, board="friends")
    mine = next((entry for entry in entries if entry.user_id == viewer.pk), None)
    if mine is None:
        entries.append(Entry(None, viewer.pk, viewer.username, 0, viewer.level))
    return Page(
        period=period,
        count=count,
        offset=start,
        limit=2 * around_k + 1,
        results=entries,
        board="friends",
        me=Me(rank=mine.rank, xp=mine.xp, on_board=True) if mine else Me(rank=None, xp=0, on_board=False),
    )


@functools.cache
def _friends_statement(vendor: str, *, around: bool) -> str:
    """Rows of the viewer's all-time friends board: rank, id, username, level, XP, 0-based position
    and the board's size. Params: the viewer's id twice, then the first and the end position of a
    page, or with `around` the viewer's id and k twice: the k rows above and below the viewer, or
    the board's last k when the viewer has no XP. Ties by lower-cased username in byte order.
    Built once per vendor and form (skillquest.sql's reason: every friends board request runs it)."""
    user, follow = table(User), table(Follow)
    u = {
        name: column(User, name, "u")
        for name in ("id", "username", "level", "total_xp", "is_active", "leaderboard_visible")
    }
    f = {name: column(Follow, name, "f") for name in ("follower", "followed")}
    fields = f"{u['id']} AS id, {u['username']} AS username, {u['level']} AS level, {u['total_xp']} AS xp"
    collate = ' COLLATE "C"' if vendor == "postgresql" else ""  # SQLite compares bytes anyway
    if around:  # around the viewer's position, or the board's size when they are not on it
        centre = "SELECT COALESCE((SELECT pos FROM ranked WHERE id = %s), (SELECT COUNT(*) FROM members))"
        shown = f"FROM ranked, ({centre} AS centre) c WHERE pos BETWEEN centre - %s AND centre + %s"
    else:
        shown = "FROM ranked WHERE pos >= %s AND pos < %s"
    # Only model metadata is interpolated; values are parameters.
    return (
        f"WITH members AS (SELECT {fields} FROM {user} u JOIN {follow} f ON {u['id']} = {f['followed']}"  # noqa: S608
        f" WHERE {f['follower']} = %s AND {u['is_active']} AND {u['leaderboard_visible']}"
        f" AND {u['total_xp']} > 0"
        f" UNION ALL SELECT {fields} FROM {user} u WHERE {u['id']} = %s AND {u['total_xp']} > 0),"
        " ranked AS (SELECT id, username, level, xp, RANK() OVER (ORDER BY xp DESC) AS rank,"
        f" ROW_NUMBER() OVER (ORDER BY xp DESC, LOWER(username){collate}) - 1 AS pos,"
        " COUNT(*) OVER () AS n FROM members)"
        f" SELECT rank, id, username, level, xp, pos, n {shown} ORDER BY pos"
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
