"""Leaderboards: all-time, the current ISO week and the current month, from Redis or from SQL.

One interface, two backends chosen by `settings.REDIS_URL`:

    top(period, limit=10, offset=0) -> Page        a page of the board, ranks included
    rank(user_id, period) / rank_for(user, period)  one player's rank, or None without XP
    standing_for(user, period) -> Standing | None   one player's rank and XP in the period
    record_award(award) -> bool                     refresh one player's entries after an award
    rebuild() -> list[Rebuilt]                      rebuild every current board from the database

Who is on a board: active players with more than 0 XP in the period (all-time: `users.total_xp`;
week/month: the sum of `attempts.xp_awarded` whose `awarded_at` falls in the window, UTC).
Ranks are standard competition ranking (1, 2, 2, 4); ties are listed by lower-cased username.

PostgreSQL is the truth. The Redis sorted sets are a projection written with absolute values
(ZADD, never ZINCRBY), so any later write or `rebuild()` repairs them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Expression, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Collate, Lower
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import User
from challenges.models import Attempt
from skillquest.logging import log_event
from skillquest.redis_client import redis_connection

logger = logging.getLogger("skillquest.leaderboard")
T = TypeVar("T")

PERIODS = ("all", "week", "month")
KEY_PREFIX = "leaderboard"
# A windowed board outlives its window a little: an award made at 23:59:59 on Sunday may be
# recorded a moment after midnight, and its key must not vanish under it.
EXPIRY_GRACE = timedelta(days=1)
# A half-built temporary key from a crashed rebuild cleans itself up.
REBUILD_TEMP_TTL = 3600
REBUILD_CHUNK = 5000


# --- Periods and windows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    period: str
    key: str
    start: datetime | None = None  # inclusive, UTC; None for all-time
    end: datetime | None = None  # exclusive, UTC

    @property
    def expires_at(self) -> datetime | None:
        return self.end + EXPIRY_GRACE if self.end else None


def window_for(period: str, at: datetime | None = None) -> Window:
    """The board that `at` (default: now) falls in, by UTC calendar."""
    if period not in PERIODS:
        raise ValueError(f"Unknown leaderboard period {period!r}.")
    if period == "all":
        return Window("all", f"{KEY_PREFIX}:all")
    day = (at or timezone.now()).astimezone(UTC).date()
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        start = datetime.combine(monday, time.min, tzinfo=UTC)
        iso_year, iso_week, _ = monday.isocalendar()
        key = f"{KEY_PREFIX}:week:{iso_year}-W{iso_week:02d}"
        return Window("week", key, start, start + timedelta(days=7))
    start = datetime.combine(day.replace(day=1), time.min, tzinfo=UTC)
    next_month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    end = start.replace(year=next_month[0], month=next_month[1])
    return Window("month", f"{KEY_PREFIX}:month:{start:%Y-%m}", start, end)


def current_windows(at: datetime | None = None) -> list[Window]:
    at = at or timezone.now()
    return [window_for(period, at) for period in PERIODS]


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    rank: int
    user_id: uuid.UUID
    username: str
    xp: int
    level: int


@dataclass(frozen=True)
class Page:
    period: str
    count: int  # players on the whole board
    offset: int
    limit: int
    results: list[Entry]


@dataclass(frozen=True)
class Rebuilt:
    key: str
    players: int


# --- SQL: the truth, and the backend of the quickstart ---------------------------------------


def username_order() -> Expression:
    """Lower-cased username in byte order: the tie order Redis gives members (see `member()`).

    PostgreSQL's default collation may ignore punctuation ('a_b' next to 'ab'), so ask for "C";
    SQLite compares bytes already.
    """
    if connection.vendor == "postgresql":
        return Collate(Lower("username"), "C")
    return Lower("username")


def player_window_xp(window: Window) -> Sum:
    """On a User queryset: the player's XP awarded in the window."""
    in_window = Q(attempts__awarded_at__gte=window.start, attempts__awarded_at__lt=window.end)
    return Sum("attempts__xp_awarded", filter=in_window)


def board_queryset(window: Window) -> QuerySet:
    """Active players with XP in the window, annotated `xp`, best first, ties by username.

    Windowed boards group the window's attempts (index `attempt_awarded_at`), not every player.
    """
    players = User.objects.filter(is_active=True)
    if window.start is None:
        return players.filter(total_xp__gt=0).annotate(xp=F("total_xp")).order_by("-xp", username_order())
    # Filtering the join before annotating makes the sum cover only the window's attempts.
    return (
        players.filter(attempts__awarded_at__gte=window.start, attempts__awarded_at__lt=window.end)
        .annotate(xp=Sum("attempts__xp_awarded"))
        .filter(xp__gt=0)
        .order_by("-xp", username_order())
    )


class SqlBackend:
    """Answers straight from the tables; nothing to record or rebuild."""

    name = "sql"

    def page(self, window: Window, limit: int, offset: int) -> tuple[int, list[tuple[uuid.UUID, int]]]:
        board = board_queryset(window)
        rows = list(board.values_list("id", "xp")[offset : offset + limit])
        return board.count(), rows

    def count_above(self, window: Window, xp: int) -> int:
        return board_queryset(window).filter(xp__gt=xp).count()

    def xp_of(self, window: Window, user: User) -> int:
        if not user.is_active:
            return 0
        if window.start is None:
            return user.total_xp
        in_window = Attempt.objects.filter(
            user_id=user.pk, awarded_at__gte=window.start, awarded_at__lt=window.end
        )
        return in_window.aggregate(xp=Sum("xp_awarded"))["xp"] or 0

    def record(self, *, user_ids: Sequence[uuid.UUID], at: datetime) -> None:
        return None

    def rebuild(self, windows: list[Window], on_progress: Callable[[int], None] | None) -> list[Rebuilt]:
        return [Rebuilt(window.key, board_queryset(window).count()) for window in windows]


# --- Redis: the fast projection ---------------------------------------------------------------
#
# Tie order. Redis orders equal scores by member, bytewise. Members are
# "<lower-cased username> <user id>": usernames are unique case-insensitively and made only of
# [a-z0-9._-] once lower-cased, all above the space separator, so member order is exactly username
# order ('ab' < 'ab-c' < 'abc'), and the page is one ZRANGE with no tie group to fetch and sort
# at the page edges (a tie group can be thousands of players at a low score). Scores are stored
# NEGATED (-xp) so that plain ascending ZRANGE gives most XP first AND ties in ascending username
# order; ZREVRANGE would list ties backwards. The rank of a player is then
# ZCOUNT(-inf, (-xp) + 1, O(log N). Usernames are read-only in the API; a rename by staff in
# the admin needs `rebuild_leaderboard`, which writes every member afresh.

MEMBER_SEPARATOR = " "


def member(*, username: str, user_id: uuid.UUID) -> str:
    return f"{username.lower()}{MEMBER_SEPARATOR}{user_id}"


def user_id_of(member_name: bytes | str) -> uuid.UUID:
    if isinstance(member_name, bytes):
        member_name = member_name.decode()
    return uuid.UUID(member_name.rsplit(MEMBER_SEPARATOR, 1)[1])


class RedisBackend:
    name = "redis"

    def __init__(self, connection: Any | None = None) -> None:
        if connection is None:
            connection = redis_connection()
        self.redis = connection

    def page(self, window: Window, limit: int, offset: int) -> tuple[int, list[tuple[uuid.UUID, int]]]:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zcard(window.key)
        pipe.zrange(window.key, offset, offset + limit - 1, withscores=True)
        count, rows = pipe.execute()
        return count, [(user_id_of(name), -int(score)) for name, score in rows]

    def count_above(self, window: Window, xp: int) -> int:
        return self.redis.zcount(window.key, "-inf", f"({-xp}")

    def xp_of(self, window: Window, user: User) -> int:
        score = self.redis.zscore(window.key, member(username=user.username, user_id=user.pk))
        return -int(score) if score is not None else 0

    def record(self, *, user_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """Write the players' absolute XP on every board an award at `at` counts for.

        One query reads every player's total and window sums, one MULTI writes them, so a batch of
        awards costs the same two round trips as one. ZADD ... LT keeps the larger XP (the smaller
        negated score) when two award jobs of one player race and the one that read earlier writes
        last; XP only goes down through recalculation, which calls `rebuild()`.
        """
        windows = [window_for(period, at) for period in PERIODS]
        sums = {f"{w.period}_xp": Coalesce(player_window_xp(w), 0) for w in windows if w.start}
        rows = (
            User.objects.filter(pk__in=list(user_ids))
            .annotate(**sums)
            .values("pk", "username", "is_active", "total_xp", *sums)
        )
        pipe = self.redis.pipeline(transaction=True)
        for row in rows:
            name = member(username=row["username"], user_id=row["pk"])
            for window in windows:
                xp = row["total_xp"] if window.start is None else row[f"{window.period}_xp"]
                if row["is_active"] and xp > 0:
                    pipe.zadd(window.key, {name: -xp}, lt=True)
                else:
                    pipe.zrem(window.key, name)
        for window in windows:
            if window.expires_at:
                pipe.expireat(window.key, window.expires_at)
        pipe.execute()

    def rebuild(self, windows: list[Window], on_progress: Callable[[int], None] | None) -> list[Rebuilt]:
        """Fill a temporary key per board, then swap it in with RENAME: readers see the old board
        until the new one is complete, never an empty or half-built one."""
        report = []
        for window in windows:
            temp = f"{window.key}:rebuild:{uuid.uuid4().hex}"
            rows = board_queryset(window).values_list("id", "username", "xp")
            players = 0
            for chunk in _chunks(rows.iterator(chunk_size=REBUILD_CHUNK), REBUILD_CHUNK):
                pipe = self.redis.pipeline(transaction=False)
                pipe.zadd(temp, {member(username=name, user_id=pk): -xp for pk, name, xp in chunk})
                pipe.expire(temp, REBUILD_TEMP_TTL)
                pipe.execute()
                players += len(chunk)
                if on_progress:
                    on_progress(len(chunk))
            pipe = self.redis.pipeline(transaction=True)
            if players:
                pipe.rename(temp, window.key)
                if window.expires_at:
                    pipe.expireat(window.key, window.expires_at)
                else:
                    pipe.persist(window.key)
            else:
                pipe.delete(window.key)
            pipe.execute()
            report.append(Rebuilt(window.key, players))
        return report


def _chunks(rows: Iterable, size: int) -> Iterable[list]:
    chunk: list = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- The interface ----------------------------------------------------------------------------


Backend = SqlBackend | RedisBackend
Row = tuple[int, uuid.UUID, int]  # (rank, user_id, xp)


def get_backend() -> Backend:
    return RedisBackend() if settings.REDIS_URL else SqlBackend()


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


@dataclass(frozen=True)
class Standing:
    rank: int
    xp: int


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


def rank(
    user_id: uuid.UUID, period: str = "all", *, at: datetime | None = None, backend: Backend | None = None
) -> int | None:
    user = User.objects.filter(pk=user_id).only("id", "username", "total_xp", "is_active").first()
    if user is None:
        return None
    return rank_for(user, period, at=at, backend=backend)


def record_awards(awards: Sequence[Any]) -> bool:
    """After awards (anything with `user_id` and `awarded_at`): refresh those players' boards.

    Never raises for Redis: the awards are already committed and the database stays the truth, so
    a failure is logged and repaired by the players' next award or `manage.py rebuild_leaderboard`.
    """
    by_windows: dict[tuple[str, ...], tuple[datetime, set[uuid.UUID]]] = {}
    for award in awards:
        keys = tuple(window_for(period, award.awarded_at).key for period in PERIODS)
        at, players = by_windows.setdefault(keys, (award.awarded_at, set()))
        players.add(award.user_id)
    backend = get_backend()
    try:
        for at, players in by_windows.values():
            backend.record(user_ids=sorted(players), at=at)
    except RedisError:
        players = sorted({str(award.user_id) for award in awards})
        logger.warning("leaderboard_update_failed", extra={"user_ids": players}, exc_info=True)
        return False
    return True


def record_award(award: Any) -> bool:
    return record_awards([award])


def rebuild(
    *,
    at: datetime | None = None,
    on_progress: Callable[[int], None] | None = None,
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
