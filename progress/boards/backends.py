"""The two board backends behind one interface: SQL (the truth) and Redis sorted sets (the projection).

    page(window, limit, offset) -> (count, [(user_id, xp), ...])   best first, ties by username
    count_above(window, xp) -> int                                   players with more XP
    xp_of(window, user) -> int                                       one player's XP on the board
    standing(window, user) -> (xp, rank) | None                      both at once; None off the board
    neighbours(window, user, k) -> Neighbours                        the k rows above and below them
                                                                     (off the board: its last k, rank None)
    scores(window, users) -> {user_id: xp}                           those of them on the board
    record(user_ids=..., at=..., tags=...)                           refresh players after awards
    forget(user_id=..., username=...)                                take a player off every board
    rebuild(windows, on_progress) -> [Rebuilt]                       rewrite boards from the database

A board lists the active players who have not opted out (`leaderboard_visible`) and have XP in it.

`get_backend()` picks Redis when `settings.REDIS_URL` is set, else SQL (the quickstart).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import connection
from django.db.models import Expression, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Collate, Lower

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.selectors import challenge_tags
from progress.boards.ranks import FriendsRows, Neighbours, Rebuilt
from progress.boards.windows import KEY_PREFIX, PERIODS, UNTAGGED_KEYS, Window, window_for
from progress.models import XpEntry
from skillquest import sql
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


def entries_in(window: Window, *, through: str = "") -> Q:
    """The ledger entries a board sums, as a filter on XpEntry (or on a relation `through` to it):
    the window's dates and, on a tag board, only what attempts on that tag's challenges paid."""
    conditions = Q()
    if window.start is not None:
        conditions &= Q(**{f"{through}created_at__gte": window.start, f"{through}created_at__lt": window.end})
    if window.tag is not None:
        conditions &= Q(
            **{f"{through}kind": XpEntry.Kind.ATTEMPT, f"{through}attempt__challenge__tags__slug": window.tag}
        )
    return conditions


# The award job's writes to the boards read their scores through statements built once
# (skillquest.sql): compiling these two aggregates was ~10 % of a job's CPU (bench/README.md, issue
# 15). The same sums as `entries_in`, by the entries' dates: each window's bounds are two
# parameters, in `PERIODS` order.
_WINDOWED = [period for period in PERIODS if window_for(period).start is not None]
_PLAYER_FIELDS = sql.Columns(User, ("username", "is_active", "leaderboard_visible", "total_xp")).fields
_AMOUNT = XpEntry._meta.get_field("amount")
_CREATED_AT = XpEntry._meta.get_field("created_at")


def _window_sums(alias: str) -> str:
    created, amount = f"{alias}.{_CREATED_AT.column}", f"{alias}.{_AMOUNT.column}"
    return "".join(
        f", COALESCE(SUM(CASE WHEN {created} >= %s AND {created} < %s THEN {amount} END), 0)"
        for _ in _WINDOWED
    )


def _bounds(windowed: list[Window]) -> list[datetime | None]:
    assert [window.period for window in windowed] == _WINDOWED
    return [bound for window in windowed for bound in (window.start, window.end)]


_PLAYERS_COLUMNS = ", ".join(f"u.{field.column}" for field in _PLAYER_FIELDS)
_ENTRY_USER = XpEntry._meta.get_field("user").column
_PLAYER_SCORES = sql.Statement(
    lambda table: (
        f"SELECT {_PLAYERS_COLUMNS}{_window_sums('e')}"  # noqa: S608 (model metadata only)
        f" FROM {table(User)} u LEFT JOIN {table(XpEntry)} e ON e.{_ENTRY_USER} = u.id"
        f" WHERE u.id IN (%s) GROUP BY {_PLAYERS_COLUMNS}"
    ),
    params=[*[_CREATED_AT] * (2 * len(_WINDOWED)), sql.Many(User._meta.pk)],
)
_ENTRY_ATTEMPT = XpEntry._meta.get_field("attempt").column
_ATTEMPT_CHALLENGE = Attempt._meta.get_field("challenge").column
_PLAYER_CHALLENGE_SCORES = sql.Statement(
    lambda table: (
        f"SELECT e.{_ENTRY_USER}, a.{_ATTEMPT_CHALLENGE}, SUM(e.{_AMOUNT.column}){_window_sums('e')}"  # noqa: S608
        f" FROM {table(XpEntry)} e LEFT JOIN {table(Attempt)} a ON a.id = e.{_ENTRY_ATTEMPT}"
        f" WHERE e.{_ENTRY_USER} IN (%s) AND e.kind = %s GROUP BY e.{_ENTRY_USER}, a.{_ATTEMPT_CHALLENGE}"
    ),
    params=[
        *[_CREATED_AT] * (2 * len(_WINDOWED)),
        sql.Many(XpEntry._meta.get_field("user")),
        XpEntry._meta.get_field("kind"),
    ],
)


def board_players() -> QuerySet[User]:
    """Who may appear on a public board: active players who have not opted out."""
    return User.objects.filter(is_active=True, leaderboard_visible=True)


def board_queryset(window: Window) -> QuerySet:
    """Players on the board with XP in it, annotated `xp`, best first, ties by username.

    Windowed and tag boards sum their ledger entries (index `xpentry_created_at`), not every player:
    awards, staff grants and revocations, recalculations, each in the window it was made in (a tag
    board: only attempts on its challenges).
    """
    players = board_players()
    if window.start is None and window.tag is None:
        return players.filter(total_xp__gt=0).annotate(xp=F("total_xp")).order_by("-xp", username_order())
    # Filtering the join before annotating makes the sum cover only the board's entries.
    return (
        players.filter(entries_in(window, through="xp_entries__"))
        .annotate(xp=Sum("xp_entries__amount"))
        .filter(xp__gt=0)
        .order_by("-xp", username_order())
    )


def player_xp(window: Window, user: User) -> int:
    """The player's XP on the board as the ledger has it, whether or not they show on it (a player
    who opted out still sees their own standing)."""
    if window.start is None and window.tag is None:
        return user.total_xp
    entries = XpEntry.objects.filter(entries_in(window), user_id=user.pk)
    return entries.aggregate(xp=Sum("amount"))["xp"] or 0


class Named(Protocol):
    """A player as boards name their members: a User, or a lighter row of one (`ranks.Player`)."""

    @property
    def pk(self) -> Any: ...

    @property
    def username(self) -> str: ...


def on_board(user: User) -> bool:
    return user.is_active and user.leaderboard_visible


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
        return player_xp(window, user) if on_board(user) else 0

    def standing(self, window: Window, user: User) -> tuple[int, int] | None:
        xp = self.xp_of(window, user)
        return (xp, self.count_above(window, xp) + 1) if xp > 0 else None

    def neighbours(self, window: Window, user: User, k: int) -> Neighbours:
        found = self.standing(window, user)
        position = self._position(window, user) if found else None
        if found is None or position is None:
            count, _ = self.page(window, 0, 0)
            start = max(0, count - k)
            _, rows = self.page(window, k, start)
            first_rank = self.count_above(window, rows[0][1]) + 1 if rows else 0
            return Neighbours(0, None, start, count, rows, first_rank)
        start = max(0, position - k)
        count, rows = self.page(window, position - start + k + 1, start)
        first_rank = self.count_above(window, rows[0][1]) + 1
        return Neighbours(found[0], found[1], start, count, rows, first_rank)

    def _position(self, window: Window, user: User) -> int | None:
        """The player's 0-based place in the board's order (ZRANK's answer), None off the board."""
        xp = self.xp_of(window, user)
        if xp <= 0:
            return None
        name: Expression = Lower(Value(user.username))
        if connection.vendor == "postgresql":
            name = Collate(name, "C")  # as username_order(): the same bytes compared the same way
        before = Q(xp__gt=xp) | Q(xp=xp, username_key__lt=name)
        return board_queryset(window).alias(username_key=username_order()).filter(before).count()

    def scores(self, window: Window, users: Sequence[Named]) -> dict[uuid.UUID, int]:
        board = board_queryset(window).filter(pk__in=[user.pk for user in users]).order_by()
        return dict(board.values_list("id", "xp"))

    def record(
        self,
        *,
        user_ids: Sequence[uuid.UUID],
        at: datetime,
        lowered: bool = False,
        tags: Mapping[uuid.UUID, Collection[str]] | None = None,
    ) -> None:
        return None

    def forget(self, *, user_id: uuid.UUID, username: str) -> None:
        return None  # the boards read `is_active` and `leaderboard_visible` from the table

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


# A member's score and how many members have a better (lower, negated) one; nil off the board.
STANDING_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return false end
return {score, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. score)}
"""


# A member's score, how many are better, its place, the k members either side with their scores and
# how many are better than the first of them, and the board's size. Off the board: an empty score,
# and the board's last k members instead (a player with no XP there is shown after them).
NEIGHBOURS_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local k = tonumber(ARGV[2])
if not score then
  local count = redis.call('ZCARD', KEYS[1])
  if count == 0 then return {'', 0, 0, 0, 0, {}} end
  local start = math.max(0, count - k)
  local rows = redis.call('ZRANGE', KEYS[1], start, -1, 'WITHSCORES')
  return {'', 0, start, count, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2]), rows}
end
local better = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. score)
local position = redis.call('ZRANK', KEYS[1], ARGV[1])
local start = math.max(0, position - k)
local rows = redis.call('ZRANGE', KEYS[1], start, position + k, 'WITHSCORES')
local first_better = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2])
return {score, better, start, redis.call('ZCARD', KEYS[1]), first_better, rows}
"""


# A viewer's friends board: their follows set (the members of the players they follow and their own)
# intersected with the board, in the board's order, ranked here. The rows from a 0-based position
# ARGV[3] (ARGV[4] of them), or with ARGV[2] = k the k rows either side of the viewer (off the
# board: the last k). False when the set is gone (expired, or dropped by a change): the caller fills
# it from the database and asks again. Returns {count, first position, the viewer's position or -1,
# their rank, their score, {member, score, rank, ...}}.
FRIENDS_LUA = """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local rows = redis.call('ZINTER', 2, KEYS[1], KEYS[2], 'WEIGHTS', 1, 0, 'WITHSCORES')
local count = #rows / 2
local ranks, position = {}, -1
for i = 1, count do
  if i > 1 and rows[2 * i] == rows[2 * i - 2] then ranks[i] = ranks[i - 1] else ranks[i] = i end
  if rows[2 * i - 1] == ARGV[1] then position = i - 1 end
end
local first, last
if ARGV[2] == '' then
  first = tonumber(ARGV[3])
  last = first + tonumber(ARGV[4]) - 1
elseif position >= 0 then
  first = math.max(0, position - tonumber(ARGV[2]))
  last = position + tonumber(ARGV[2])
else
  first = math.max(0, count - tonumber(ARGV[2]))
  last = count - 1
end
local shown = {}
for i = first + 1, math.min(last + 1, count) do
  shown[#shown + 1] = rows[2 * i - 1]
  shown[#shown + 1] = rows[2 * i]
  shown[#shown + 1] = ranks[i]
end
if position < 0 then return {count, first, -1, 0, '', shown} end
return {count, first, position, ranks[position + 1], rows[2 * position + 2], shown}
"""

# Fill a viewer's follows set (ARGV[3], ...; never empty: the viewer is a member of their own board)
# unless their follows changed since the database was read: the version key (KEYS[2]) still holds
# what it held then (ARGV[1], '' for none). The set lives ARGV[2] s from now, however often it is read.
FOLLOWS_FILL_LUA = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# A follows set is read afresh this long after it was filled, whatever happened meanwhile: the bound
# on how stale a friends board can be if a change's drop was lost (Redis down at that moment, a
# failover). A version outlives its last change far longer than any fill takes.
FOLLOWS_SECONDS = 900
FOLLOWS_VERSION_SECONDS = 86400
FOLLOWS_KEYS = f"{KEY_PREFIX}:follows:*"


def follows_keys(user_id: uuid.UUID) -> tuple[str, str]:
    """The viewer's follows set and its version: one hash tag with the boards, so a script may read both."""
    return f"{KEY_PREFIX}:follows:{user_id}", f"{KEY_PREFIX}:follows-version:{user_id}"


class RedisBackend:
    name = "redis"
    # Registered once per process (redis-py's Script, called with each backend's client).
    standing_script: Any = None
    neighbours_script: Any = None
    friends_script: Any = None
    follows_fill_script: Any = None

    def __init__(self, connection: Any | None = None) -> None:
        self.redis = connection if connection is not None else redis_connection()

    def page(self, window: Window, limit: int, offset: int) -> tuple[int, list[tuple[uuid.UUID, int]]]:
        if limit <= 0:  # ZRANGE 0 -1 would be the whole board
            return self.redis.zcard(window.key), []
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

    def standing(self, window: Window, user: User) -> tuple[int, int] | None:
        """XP and rank in one round trip (a script: ZSCORE, then ZCOUNT of the better scores); every
        page of a player reads it."""
        script = RedisBackend.standing_script
        if script is None:  # EVALSHA of its digest; Redis loads the script on first use
            script = RedisBackend.standing_script = self.redis.register_script(STANDING_LUA)
        found = script(
            keys=[window.key], args=[member(username=user.username, user_id=user.pk)], client=self.redis
        )
        if not found:
            return None
        score, better = found
        return -int(float(score)), int(better) + 1

    def neighbours(self, window: Window, user: User, k: int) -> Neighbours:
        """The player's XP, rank and place and the rows around them in one round trip (a script):
        an around-me view read by parts took six; off the board, the board's last k rows (four)."""
        script = RedisBackend.neighbours_script
        if script is None:
            script = RedisBackend.neighbours_script = self.redis.register_script(NEIGHBOURS_LUA)
        score, better, start, count, first_better, flat = script(
            keys=[window.key], args=[member(username=user.username, user_id=user.pk), k], client=self.redis
        )
        rows = [(user_id_of(flat[i]), -int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]
        if not score:
            return Neighbours(0, None, int(start), int(count), rows, int(first_better) + 1)
        xp, rank, first_rank = -int(float(score)), int(better) + 1, int(first_better) + 1
        return Neighbours(xp, rank, int(start), int(count), rows, first_rank)

    def scores(self, window: Window, users: Sequence[Named]) -> dict[uuid.UUID, int]:
        if not users:
            return {}
        found = self.redis.zmscore(window.key, [member(username=u.username, user_id=u.pk) for u in users])
        return {user.pk: -int(score) for user, score in zip(users, found, strict=True) if score is not None}

    def friends(
        self,
        window: Window,
        viewer: User,
        followed: Callable[[], Iterable[Named]],
        *,
        limit: int,
        offset: int,
        around_k: int | None,
    ) -> FriendsRows | None:
        """The viewer's friends board on `window` (a viewer on public boards): a page of it, or with
        `around_k` the rows around them, ranked by Redis among the viewer and whom they follow.

        The members of whom they follow are kept in a set of their own (`follows_keys`), filled from
        `followed()` (the primary database: a replica may not have the change that dropped the set)
        when it is missing, for `FOLLOWS_SECONDS`, and dropped by `follows_changed`; a board read is
        then one script, however many players they follow. None if the set could not be filled
        because their follows changed meanwhile (the caller reads the database instead).
        """
        script = RedisBackend.friends_script
        if script is None:
            script = RedisBackend.friends_script = self.redis.register_script(FRIENDS_LUA)
        keys = [window.key, follows_keys(viewer.pk)[0]]
        args = [
            member(username=viewer.username, user_id=viewer.pk),
            "" if around_k is None else around_k,
            offset,
            limit,
        ]
        found = script(keys=keys, args=args, client=self.redis)
        if not found:
            if not self._follows_filled(viewer, followed):
                return None
            found = script(keys=keys, args=args, client=self.redis)
            if not found:
                return None
        count, first, position, rank, score, flat = found
        rows = [
            (int(flat[i + 2]), user_id_of(flat[i]), -int(float(flat[i + 1]))) for i in range(0, len(flat), 3)
        ]
        me = (int(rank), -int(float(score))) if int(position) >= 0 else None
        return FriendsRows(int(count), int(first), rows, me)

    def _follows_filled(self, viewer: User, followed: Callable[[], Iterable[Named]]) -> bool:
        """Fill the viewer's follows set from the database; False if their follows changed while it
        was read (the version key moved), which leaves the set to the next read."""
        script = RedisBackend.follows_fill_script
        if script is None:
            script = RedisBackend.follows_fill_script = self.redis.register_script(FOLLOWS_FILL_LUA)
        keys = follows_keys(viewer.pk)
        version = self.redis.get(keys[1])  # before the database is read: a change after it moves it
        members = [member(username=player.username, user_id=player.pk) for player in (*followed(), viewer)]
        args = [version or "", FOLLOWS_SECONDS, *members]
        return bool(script(keys=list(keys), args=args, client=self.redis))

    def follows_changed(self, user_id: uuid.UUID) -> None:
        """After a change to whom the player follows commits: drop their follows set, and give its
        version a new random value (never one a fill may have read before, even after the version
        expired), so that a fill which read the database before the change does not write it back."""
        follows, version = follows_keys(user_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(version, uuid.uuid4().hex, ex=FOLLOWS_VERSION_SECONDS)
        pipe.delete(follows)
        pipe.execute()

    def record(
        self,
        *,
        user_ids: Sequence[uuid.UUID],
        at: datetime,
        lowered: bool = False,
        tags: Mapping[uuid.UUID, Collection[str]] | None = None,
    ) -> None:
        """Write the players' absolute XP on every board an entry at `at` counts for: each period of
        every challenge, and each period of the tags in `tags[player]` (the tags of the challenges
        the player's awards were for).

        Two queries read every player's totals and window sums (one more for tag boards), one MULTI
        writes them, so a batch of awards costs the same round trips as one. ZADD ... LT keeps the
        larger XP (the smaller negated score) when two award jobs of one player race and the one that
        read earlier writes last. XP goes down only by a revocation (`lowered`: a plain ZADD, so the
        lower score lands; an award job racing it may put the old score back until that player's next
        write or `rebuild_leaderboard`) or a recalculation, which calls `rebuild()`. A player who is
        inactive or opted out is taken off instead.
        """
        windows = [window_for(period, at) for period in PERIODS]
        windowed = [window for window in windows if window.start]
        rows = sql.fetch_values(
            _PLAYER_SCORES,
            [*_bounds(windowed), list(user_ids)],
            [*_PLAYER_FIELDS, *[_AMOUNT] * len(windowed)],
        )
        scores: dict[str, dict[str, int]] = defaultdict(dict)
        gone: dict[str, list[str]] = defaultdict(list)
        names: dict[uuid.UUID, tuple[str, bool]] = {}
        for pk, username, is_active, visible, total_xp, *sums in rows:
            name = member(username=username, user_id=pk)
            shown = is_active and visible
            names[pk] = (name, shown)
            in_window = dict(zip((window.period for window in windowed), sums, strict=True))
            for window in windows:
                xp = total_xp if window.start is None else in_window[window.period]
                if shown and xp > 0:
                    scores[window.key][name] = -xp
                else:
                    gone[window.key].append(name)
        written = list(windows)
        if tags:
            written += self._tag_scores(names, tags, at, scores, gone)
        # One ZADD and one ZREM per board, whatever the batch size (LT is applied member by member).
        pipe = self.redis.pipeline(transaction=True)
        for window in written:
            if scores.get(window.key):
                pipe.zadd(window.key, scores[window.key], lt=not lowered)
            if gone.get(window.key):
                pipe.zrem(window.key, *gone[window.key])
        for window in written:
            if window.expires_at:
                pipe.expireat(window.key, window.expires_at)
        pipe.execute()

    @staticmethod
    def _tag_scores(
        names: Mapping[uuid.UUID, tuple[str, bool]],
        tags: Mapping[uuid.UUID, Collection[str]],
        at: datetime,
        scores: dict[str, dict[str, int]],
        gone: dict[str, list[str]],
    ) -> list[Window]:
        """Fill in the tag boards' scores of the players in `names`: two queries for every pair.

        The players' attempt entries are summed per challenge (from their own rows: the ledger's
        per-player index, then each attempt by key), and the challenges' sums added up per tag here.
        Joined to the tags in SQL instead, the planner was free to start from every attempt on a
        tagged challenge, and did when the statistics lagged behind (45 ms a batch, bench/README.md).
        """
        slugs = sorted({slug for player_tags in tags.values() for slug in player_tags})
        windows = {slug: [window_for(period, at, tag=slug) for period in PERIODS] for slug in slugs}
        windowed = [window for window in (window_for(period, at) for period in PERIODS) if window.start]
        rows = sql.fetch_values(
            _PLAYER_CHALLENGE_SCORES,
            [*_bounds(windowed), list(tags), XpEntry.Kind.ATTEMPT],
            [User._meta.pk, Challenge._meta.pk, _AMOUNT, *[_AMOUNT] * len(windowed)],
        )
        tags_of = challenge_tags(slugs=slugs)
        xp: dict[tuple[uuid.UUID, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for user_id, challenge_id, all_xp, *sums in rows:
            summed = {"all": all_xp, **dict(zip((window.period for window in windowed), sums, strict=True))}
            for slug in tags_of.get(challenge_id, ()):
                for period in PERIODS:
                    xp[(user_id, slug)][period] += summed[period]
        for user_id, player_tags in tags.items():
            if user_id not in names:
                continue  # erased meanwhile
            name, shown = names[user_id]
            for slug in player_tags:
                of_tag = xp.get((user_id, slug), {})
                for window in windows[slug]:
                    value = of_tag.get(window.period, 0)
                    if shown and value > 0:
                        scores[window.key][name] = -value
                    else:
                        gone[window.key].append(name)
        return [window for slug in slugs for window in windows[slug]]

    def forget(self, *, user_id: uuid.UUID, username: str) -> None:
        """Remove the player from every board key there is, past windows included (a handful of keys)."""
        name = member(username=username, user_id=user_id)
        pipe = self.redis.pipeline(transaction=False)
        for key in self.redis.scan_iter(match=f"{KEY_PREFIX}:*", count=1000, _type="zset"):
            pipe.zrem(key, name)
        pipe.execute()

    def rebuild(self, windows: list[Window], on_progress: Callable[[int], object] | None) -> list[Rebuilt]:
        """Fill a temporary key per board, then swap it in with RENAME: readers see the old board
        until the new one is complete, never an empty or half-built one. Then delete the boards
        named before their hash tag (windows.UNTAGGED_KEYS), with the players they still list."""
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
        for key in self.redis.scan_iter(match=UNTAGGED_KEYS, count=1000):
            self.redis.delete(key)
        # Usernames may have changed (a rename by staff): the follows sets name players by them.
        for keys in _chunks(self.redis.scan_iter(match=FOLLOWS_KEYS, count=1000, _type="set"), 1000):
            self.redis.unlink(*keys)
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
