"""Redis through Sentinel: the configuration of every client of ours when REDIS_SENTINELS is set.

Settings build the RQ queues, the cache and the channel layer from these functions, so that all of
them ask the same sentinels for the same master, with the same database, password and timeouts:

- RQ (and `skillquest.redis_client.redis_connection()`, hence our own keys, /readyz and /metrics):
  django-rq's own `SENTINELS`/`MASTER_NAME` queue settings (`Sentinel(...).master_for(...)`).
- The Django cache (and the throttles counted in it): Django's RedisCache with `SentinelMasterPool`
  as its `pool_class`; RedisCache has no Sentinel support of its own, but builds its pool with
  `pool_class.from_url(location, **options)`, which is all this needs.
- The channel layer: channels_redis' `sentinels`/`master_name` host form.

How a client recovers from a failover: redis-py's SentinelConnectionPool asks the sentinels for the
master's address whenever it opens a connection, and whenever one reconnects (the latter only with
our `MasterConnection`, see there); a connection to a demoted master is closed on its first READONLY
answer. Connections to a dead master fail with ConnectionError; `failover_retry()` retries those on a
fresh connection a few times with backoff (about a second in all), long enough to bridge a connection
the pool still held to the old master, not to wait out a whole failover. A request that still fails
meets our usual handling of a Redis outage (an enqueue returns False and the `award_pending` sweep
finds the award, throttles fail open, boards fall back to SQL).

Pure configuration: no Django import, so skillquest/settings.py can call it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from redis.backoff import ExponentialBackoff, ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

# Seconds to open a TCP connection to a master or a sentinel: on a dead host, fail fast and retry.
CONNECT_TIMEOUT = 1.0
# Seconds a command may wait for its answer (RQ raises it on the worker's own connection, whose
# blocking dequeue waits longer; see rq's Worker.connection_timeout).
COMMAND_TIMEOUT = 5.0


def failover_retry() -> Retry:
    """Retries on ConnectionError/TimeoutError: 4 more tries, 50 ms doubling up to 400 ms, jittered."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.4), 4)


def worker_retry() -> Retry:
    """The RQ worker's own connection (skillquest.worker.Worker): 10 more tries, 0.1 s doubling up to
    2 s, about 13 s in all, so that a failover (a few seconds) or a quick restart of Redis is waited
    out rather than ending the worker. Nobody waits on the worker's bookkeeping; jobs' own calls use
    the short `failover_retry()` and handle a Redis outage themselves."""
    return Retry(ExponentialBackoff(cap=2.0, base=0.1), 10)


def parse_sentinels(value: list[str]) -> list[tuple[str, int]]:
    """`["host:port", ...]` (REDIS_SENTINELS) as addresses; ValueError names the bad entry."""
    addresses = []
    for entry in value:
        host, _, port = entry.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{entry!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def master_options(redis_url: str) -> dict[str, Any]:
    """Database index, user and password of the master, from REDIS_URL (its host and port are not
    used: the sentinels say where the master is)."""
    url = urlsplit(redis_url)
    if url.scheme != "redis":
        # rediss:// would silently lose its TLS here: the master's address comes from the sentinels.
        raise ValueError(
            f"with REDIS_SENTINELS it must be a redis:// URL (TLS is not supported), not {url.scheme}://"
        )
    path = url.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"the path of REDIS_URL must be a database index, not {path!r}")
    return {
        "db": int(path or 0),
        "username": unquote(url.username) if url.username else None,
        "password": unquote(url.password) if url.password else None,
    }


def sentinel_options(password: str) -> dict[str, Any]:
    """How to talk to the sentinels themselves (REDIS_SENTINEL_PASSWORD: their `requirepass`)."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": CONNECT_TIMEOUT,
        "password": password or None,
    }


def rq_queue(*, sentinels: list[tuple[str, int]], master: str, redis_url: str, password: str) -> dict:
    """A django-rq queue's connection settings (merge the queue's own, e.g. DEFAULT_TIMEOUT)."""
    options = master_options(redis_url)
    return {
        "SENTINELS": sentinels,
        "MASTER_NAME": master,
        "DB": options["db"],
        "USERNAME": options["username"],
        "PASSWORD": options["password"],
        "SOCKET_TIMEOUT": COMMAND_TIMEOUT,
        "CONNECTION_KWARGS": {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "retry": failover_retry(),
            "connection_class": MasterConnection,
        },
        "SENTINEL_KWARGS": sentinel_options(password),
    }


def cache(*, sentinels: list[tuple[str, int]], master: str, redis_url: str, password: str) -> dict:
    """settings.CACHES["default"]: Django's RedisCache on a pool that follows the master."""
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url,
        "OPTIONS": {
            "pool_class": "skillquest.redis_sentinel.SentinelMasterPool",
            "sentinels": sentinels,
            "master_name": master,
            "sentinel_kwargs": sentinel_options(password),
        },
    }


def channel_host(*, sentinels: list[tuple[str, int]], master: str, redis_url: str, password: str) -> dict:
    """One `hosts` entry of channels_redis (its Sentinel form): where the master is. How its
    connections behave (no read timeout, keepalive, the pool's size) is settings.CHANNEL_LAYER_POOL,
    merged in beside it as for the plain `address` form; leaving the timeout out here is not enough,
    since redis-py 8 then reads with its default 5 s."""
    options = master_options(redis_url)
    return {
        "sentinels": sentinels,
        "master_name": master,
        "sentinel_kwargs": sentinel_options(password),
        "db": options["db"],
        "username": options["username"],
        "password": options["password"],
        "socket_connect_timeout": CONNECT_TIMEOUT,
    }


class MasterConnection(SentinelManagedConnection):
    """A connection to the master that asks the sentinels where it is each time it reconnects.

    redis-py (8.1; redis/redis-py#3874, open) reconnects a connection that lost its socket from
    `send_packed_command` through `connect_check_health()`, which retries at the address it had
    before: the dead master's, for the whole of the client's retry (an RQ worker's ~13 s, longer than
    the failover), and only then does the next command's connection ask the sentinels. Here any
    such reconnect goes through `connect()`, whose every try asks them (and comes back here through
    `connect_to()` with `retry_socket_connect=False`, to connect where they said).

    The channel layer's asyncio client has the same flaw but meets it only within a retry, and its
    connections have none (a command that fails raises; the pool's next connection, and the
    subscriber's reconnect, ask the sentinels), so it keeps redis-py's class.
    """

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        if retry_socket_connect:
            self.connect()
        else:
            super().connect_check_health(check_health=check_health, retry_socket_connect=False)


class SentinelMasterPool(SentinelConnectionPool):
    """The `pool_class` of Django's RedisCache (see `cache()`): a pool of connections to the master
    the sentinels name, built from the cache's LOCATION (REDIS_URL: db, user, password) and OPTIONS."""

    @classmethod
    def from_url(  # type: ignore[override]  # RedisCache passes its OPTIONS as keywords
        cls,
        url: str,
        *,
        sentinels: list[tuple[str, int]],
        master_name: str,
        sentinel_kwargs: dict[str, Any],
        **options: Any,
    ) -> SentinelMasterPool:
        manager = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
        return cls(
            master_name,
            manager,
            **master_options(url),
            socket_timeout=COMMAND_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=failover_retry(),
            connection_class=MasterConnection,
            **options,
        )
