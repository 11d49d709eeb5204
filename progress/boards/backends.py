"""The two board backends behind one interface: SQL (the truth) and Redis sorted sets (the projection).

    page(window, limit, offset) -> (count, [(user_id, xp), ...])   best first, ties by username
    count_above(window, xp) -> int                                   players with more XP
    xp_of(window, user) -> int                                       one player's XP on the board
    record(user_ids=..., at=...)                                     refresh players after awards
    forget(user_id=..., username=...)                                take a player off every board
    rebuild(windows, on_progress) -> [Rebuilt]                       rewrite boards from the database

`get_backend()` picks Redis when `settings.REDIS_URL` is set, else SQL (the quickstart).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Expression, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Collate, Lower

from accounts.models import User
from progress.boards.ranks import Rebuilt
from progress.boards.windows import KEY_PREFIX, PERIODS, Window, window_for
from progress.models import XpEntry
from skillquest.redis_client import redis_connection

# A half-built temporary key from a crashed rebuild cleans itself up.
REBUILD_TEMP_TTL = 3600
REBUILD_CHUNK = 5000


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
    """On a User queryset: the player's XP gained in the window, by their ledger entries' dates."""
    in_window = Q(xp_entries__created_at__gte=window.start, xp_entries__created_at__lt=window.end)
    return Sum("xp_entries__amount", filter=in_window)


def board_queryset(window: Window) -> QuerySet:
    """Active players with XP in the window, annotated `xp`, best first, ties by username.

    Windowed boards sum the window's ledger entries (index `xpentry_created_at`), not every player:
    awards, staff grants and revocations, recalculations, each in the window it was made in.
    """
    players = User.objects.filter(is_active=True)
    if window.start is None:
        return players.filter(total_xp__gt=0).annotate(xp=F("total_xp")).order_by("-xp", username_order())
    # Filtering the join before annotating makes the sum cover only the window's attempts.
    return (
        players.filter(xp_entries__created_at__gte=window.start, xp_entries__created_at__lt=window.end)
        .annotate(xp=Sum("xp_entries__amount"))
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
        in_window = XpEntry.objects.filter(
            user_id=user.pk, created_at__gte=window.start, created_at__lt=window.end
        )
        return in_window.aggregate(xp=Sum("amount"))["xp"] or 0

    def record(self, *, user_ids: Sequence[uuid.UUID], at: datetime, lowered: bool = False) -> None:
        return None

    def forget(self, *, user_id: uuid.UUID, username: str) -> None:
        return None  # the boards read `is_active` from the table

    def rebuild(self, windows: list[Window], on_progress: Callable[[int], object] | None) -> list[Rebuilt]:
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
        self.redis = connection if connection is not None else redis_connection()

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

    def record(self, *, user_ids: Sequence[uuid.UUID], at: datetime, lowered: bool = False) -> None:
        """Write the players' absolute XP on every board an entry at `at` counts for.

        One query reads every player's total and window sums, one MULTI writes them, so a batch of
        awards costs the same two round trips as one. ZADD ... LT keeps the larger XP (the smaller
        negated score) when two award jobs of one player race and the one that read earlier writes
        last. XP goes down only by a revocation (`lowered`: a plain ZADD, so the lower score lands;
        an award job racing it may put the old score back until that player's next write or
        `rebuild_leaderboard`) or a recalculation, which calls `rebuild()`.
        """
        windows = [window_for(period, at) for period in PERIODS]
        sums = {f"{w.period}_xp": Coalesce(player_window_xp(w), 0) for w in windows if w.start}
        rows = (
            User.objects.filter(pk__in=list(user_ids))
            .annotate(**sums)
            .values("pk", "username", "is_active", "total_xp", *sums)
        )
        scores: dict[str, dict[str, int]] = {window.key: {} for window in windows}
        gone: dict[str, list[str]] = {window.key: [] for window in windows}
        for row in rows:
            name = member(username=row["username"], user_id=row["pk"])
            for window in windows:
                xp = row["total_xp"] if window.start is None else row[f"{window.period}_xp"]
                if row["is_active"] and xp > 0:
                    scores[window.key][name] = -xp
                else:
                    gone[window.key].append(name)
        # One ZADD and one ZREM per board, whatever the batch size (LT is applied member by member).
        pipe = self.redis.pipeline(transaction=True)
        for window in windows:
            if scores[window.key]:
                pipe.zadd(window.key, scores[window.key], lt=not lowered)
            if gone[window.key]:
                pipe.zrem(window.key, *gone[window.key])
        for window in windows:
            if window.expires_at:
                pipe.expireat(window.key, window.expires_at)
        pipe.execute()

    def forget(self, *, user_id: uuid.UUID, username: str) -> None:
        """Remove the player from every board key there is, past windows included (a handful of keys)."""
        name = member(username=username, user_id=user_id)
        pipe = self.redis.pipeline(transaction=False)
        for key in self.redis.scan_iter(match=f"{KEY_PREFIX}:*", count=1000):
            pipe.zrem(key, name)
        pipe.execute()

    def rebuild(self, windows: list[Window], on_progress: Callable[[int], object] | None) -> list[Rebuilt]:
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


Backend = SqlBackend | RedisBackend


def get_backend() -> Backend:
    return RedisBackend() if settings.REDIS_URL else SqlBackend()
