"""Read replicas: reads that tolerate lag go to a streaming replica, everything else to the primary.

Nothing reads from a replica unless its code path opts in (`replica_reads()`, or `ReplicaReads` on a
DRF view), and then only while the primary's connection is outside any transaction: a read-then-write,
`select_for_update` and the award job all run in `transaction.atomic`, so they stay on the primary
even inside an opted-in block. Writes always go to the primary.

Read-your-writes: for `REPLICA_STICKY_SECONDS` after a player's write (an unsafe-method request they
made, or an award the worker committed for them), their reads stay on the primary. The mark is a Redis
key per player (the cache): API clients with a JWT keep no cookie, and the worker, which commits the
awards, has no response to set one on. settings.py makes the window longer than the lag a replica may
have, so a replica that is still used has always replayed the player's write by the time it expires.

A replica is used only while it is in recovery and caught up to within `REPLICA_MAX_LAG_SECONDS`; the
verdict is kept in-process for a second (a down replica's for `DOWN_RECHECK_SECONDS`), and a replica
connection failing in the middle of a request sends that request's reads back to the primary.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

logger = logging.getLogger("skillquest.replicas")

REPLICA_PREFIX = "replica_"
CHECK_SECONDS = 1.0
# A replica that refused or timed out a connection is not asked again for this long, so requests do
# not each wait `connect_timeout` for it.
DOWN_RECHECK_SECONDS = 10.0
STICKY_KEY = "skillquest:replicas:wrote:{user_id}"

# On an idle primary `pg_last_xact_replay_timestamp()` (the commit time of the last transaction
# replayed) grows old although the replica has everything: a replica streaming from its primary whose
# replay position has reached its receive position is caught up whatever that timestamp says. Only
# while it is behind (or not streaming, so it cannot know what it misses) is the age of the last
# replayed commit its lag; never having replayed one (NULL) counts as too far behind.
LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""

_reading_from: ContextVar[str | None] = ContextVar("skillquest_replica_reads", default=None)
_verdicts: dict[str, tuple[float, bool]] = {}  # alias -> (time it expires, usable)
_verdicts_lock = threading.Lock()


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def replica_settings(urls: Iterable[str], primary: dict[str, Any], db_url: Any) -> dict[str, dict]:
    """DATABASES entries `replica_1`, ... for DATABASE_REPLICA_URLS, connected like the primary.

    A short connect timeout (unless the URL sets one): a replica that is down costs a request at most
    this long, once per `DOWN_RECHECK_SECONDS`. In tests each mirrors the primary's test database (its
    own server keeps its host and port; only the database name becomes the test one).
    """
    entries = {}
    for number, url in enumerate(urls, start=1):
        entry = db_url(url)
        entry["ENGINE"] = primary["ENGINE"]
        for name in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "DISABLE_SERVER_SIDE_CURSORS"):
            entry[name] = primary[name]
        entry["OPTIONS"] = {"connect_timeout": 2, **primary.get("OPTIONS", {}), **entry.get("OPTIONS", {})}
        entry["TEST"] = {"MIRROR": DEFAULT_DB_ALIAS}
        entries[f"{REPLICA_PREFIX}{number}"] = entry
    return entries


class ReplicaRouter:
    """Reads go where the opted-in code path was sent (`replica_reads`), unless in a transaction."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        alias = _reading_from.get()
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- Read-your-writes -----------------------------------------------------------------------------


def players_wrote(*, user_ids: Iterable[Any]) -> None:
    """Keep these players' reads on the primary for `REPLICA_STICKY_SECONDS` from now."""
    if not replica_aliases():
        return
    keys = {STICKY_KEY.format(user_id=user_id): 1 for user_id in user_ids}
    if not keys:
        return
    try:
        cache.set_many(keys, timeout=math.ceil(settings.REPLICA_STICKY_SECONDS))
    except RedisError:
        # Readers cannot see the marks either while the cache is down, and then read the primary.
        logger.warning("replica_sticky_mark_failed", exc_info=True)


def wrote_recently(user_id: Any) -> bool:
    try:
        return cache.get(STICKY_KEY.format(user_id=user_id)) is not None
    except RedisError:
        logger.warning("replica_sticky_check_failed", exc_info=True)
        return True  # cannot tell: the primary is never stale


class ReadYourWritesMiddleware:
    """After an unsafe-method request by a signed-in player, their reads stay on the primary a while.

    After the view, so that a DRF view's own authentication (JWT, API key) has set `request.user`.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        unsafe = request.method not in {"GET", "HEAD", "OPTIONS", "TRACE"}
        if unsafe and user is not None and user.is_authenticated:
            players_wrote(user_ids=[user.pk])
        return response


# --- Choosing a replica ---------------------------------------------------------------------------


def replica_usable(alias: str) -> bool:
    """Whether `alias` is a replica caught up to within `REPLICA_MAX_LAG_SECONDS`; asked at most
    once a second per process (once per `DOWN_RECHECK_SECONDS` while it is down)."""
    now = time.monotonic()
    with _verdicts_lock:
        verdict = _verdicts.get(alias)
    if verdict is not None and verdict[0] > now:
        return verdict[1]
    usable, keep = _check(alias)
    with _verdicts_lock:
        _verdicts[alias] = (time.monotonic() + keep, usable)
    return usable


def _check(alias: str) -> tuple[bool, float]:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, caught_up, replay_age = cursor.fetchone()
    except DatabaseError:
        logger.warning("replica_unreachable", extra={"alias": alias}, exc_info=True)
        _close(alias)
        return False, DOWN_RECHECK_SECONDS
    if not in_recovery:
        # A promoted replica is a primary of its own now, which our writes never reach.
        logger.warning("replica_not_in_recovery", extra={"alias": alias})
        return False, CHECK_SECONDS
    lag = 0.0 if caught_up else replay_age
    usable = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    if not usable:
        logger.warning("replica_lagging", extra={"alias": alias, "lag_seconds": lag})
    return usable, CHECK_SECONDS


def replica_failed(alias: str) -> None:
    """A query on `alias` failed: do not use it until it has been down for `DOWN_RECHECK_SECONDS`."""
    _close(alias)
    with _verdicts_lock:
        _verdicts[alias] = (time.monotonic() + DOWN_RECHECK_SECONDS, False)


def forget_verdicts() -> None:
    """Ask every replica afresh on next use (tests that change a replica's state)."""
    with _verdicts_lock:
        _verdicts.clear()


def _close(alias: str) -> None:
    with suppress(DatabaseError):  # a broken connection is discarded all the same
        connections[alias].close()


def replica_for(user: Any = None) -> str | None:
    """A usable replica for this reader, or None (read the primary): none configured, the reader wrote
    within `REPLICA_STICKY_SECONDS`, or none usable."""
    aliases = replica_aliases()
    if not aliases:
        return None
    if user is not None and user.is_authenticated and wrote_recently(user.pk):
        return None
    for alias in random.sample(aliases, len(aliases)):
        if replica_usable(alias):
            return alias
    return None


@contextmanager
def replica_reads(*, user: Any = None) -> Iterator[str | None]:
    """Reads in this block go to a usable replica if there is one for `user` (outside transactions)."""
    token = _reading_from.set(replica_for(user))
    try:
        yield _reading_from.get()
    finally:
        _reading_from.reset(token)


class ReplicaReads:
    """DRF view mixin: the actions in `replica_actions` (or HTTP methods, on an APIView) read from a
    replica, the rest of the view's actions from the primary.

    A query failing on the replica marks it failed and runs the handler again on the primary, so a
    replica that dies between two health checks costs a request time, not a 500.
    """

    replica_actions: frozenset[str] = frozenset()

    def reads_from_replica(self, request: Any) -> bool:
        action = getattr(self, "action", None) or request.method.lower()
        return action in self.replica_actions

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        token = _reading_from.set(None)
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            _reading_from.reset(token)

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authenticates first
        if self.reads_from_replica(request):
            _reading_from.set(replica_for(request.user))

    def handle_exception(self, exc: Exception) -> Any:
        alias = _reading_from.get()
        if alias is None or not isinstance(exc, OperationalError | InterfaceError):
            return super().handle_exception(exc)  # type: ignore[misc]
        logger.warning("replica_read_failed", extra={"alias": alias}, exc_info=exc)
        replica_failed(alias)
        _reading_from.set(None)
        request = self.request  # type: ignore[attr-defined]
        handler = getattr(self, request.method.lower())
        try:
            return handler(request, *self.args, **self.kwargs)  # type: ignore[attr-defined]
        except Exception as retried:
            return super().handle_exception(retried)  # type: ignore[misc]


def reads_from_replica(
    skip: Callable[..., bool] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page-view decorator: the view's reads (its template's too: `render` runs inside it) go to a
    replica as `ReplicaReads` sends an API view's, unless `skip(request, **kwargs)`; a query failing on
    the replica runs the view again on the primary."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            alias = None if skip is not None and skip(request, **kwargs) else replica_for(request.user)
            if alias is not None:
                token = _reading_from.set(alias)
                try:
                    return view(request, *args, **kwargs)
                except (OperationalError, InterfaceError):
                    logger.warning("replica_read_failed", extra={"alias": alias}, exc_info=True)
                    replica_failed(alias)
                finally:
                    _reading_from.reset(token)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
