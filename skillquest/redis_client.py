"""The process's Redis clients: every module that talks to Redis takes its client from here.

Two clients, because two settings name a Redis server:

- `redis_connection()`: the client of an RQ queue's configuration (settings.RQ_QUEUES), shared by
  the queue itself and by our own keys on that server (leaderboards, the award job's slot, health
  and metrics checks).
- `cache_client(backend)`: the Django cache's own client (settings.CACHES), for code that must count
  where the cache counts (the throttles) and so follows the cache when a test or a deployment points
  it elsewhere.

With REDIS_SENTINELS set, both follow the sentinels (skillquest/redis_sentinel.py): the queue's
configuration names them (django-rq builds a `Sentinel(...).master_for(...)` client) and the cache's
pool class asks them; nothing here changes.

Why made once: django_rq builds a new client, with a new pool, on every get_connection()/get_queue()
call, and Django's RedisCache builds a new client on every get_client() call (~0.1 ms): a fresh TCP
connection and HELLO/SELECT handshake per enqueue cost more than the enqueue itself. redis-py pools
notice a fork and reconnect in the child, so a client made before gunicorn or RQ forks is safe.

Importing django_rq reads settings, so this module is imported only once settings exist (never
from skillquest/__init__.py or skillquest/multiprocess_metrics.py, which run ahead of settings).
"""

from __future__ import annotations

import django_rq
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from redis import Redis

# Keyed by the queue's name and configuration, so that code (and tests) pointing settings.RQ_QUEUES
# elsewhere get a client for that server.
_connections: dict[str, Redis] = {}
# Keyed by the cache's servers and options, not by the backend object: Django makes a cache backend
# per thread and per asyncio context, so an object-keyed client was made anew for every socket the
# `ws` process admitted (each consumer's context kept its own backend, client and pool alive: ~13 KB
# and a Redis connection per idle socket).
_cache_clients: dict[str, Redis] = {}
# A backend remembers its key (working it out took 6.6 us a call, on every throttled request).
_KEY_ATTRIBUTE = "_skillquest_client_key"


def redis_connection(queue: str = "default") -> Redis:
    """The process's shared Redis client for the RQ queue `queue` (also used for our own keys)."""
    config = settings.RQ_QUEUES[queue]
    key = repr((queue, sorted((name, repr(value)) for name, value in config.items())))
    connection = _connections.get(key)
    if connection is None:
        connection = _connections.setdefault(key, django_rq.get_connection(queue))
    return connection


def cache_client(backend: RedisCache) -> Redis:
    """The Redis client of the cache configured as `backend`, made once per process and configuration."""
    key = getattr(backend, _KEY_ATTRIBUTE, None)
    if key is None:
        # Django's own attributes for the LOCATION and OPTIONS it was made from (unknown to its stub).
        servers, options = backend._servers, backend._options  # type: ignore[attr-defined]
        key = repr((servers, sorted((name, repr(value)) for name, value in options.items())))
        setattr(backend, _KEY_ATTRIBUTE, key)
    client = _cache_clients.get(key)
    if client is None:
        client = _cache_clients.setdefault(key, backend._cache.get_client(write=True))
    return client
