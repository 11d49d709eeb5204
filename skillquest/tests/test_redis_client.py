"""The process's Redis clients are made once (no new connection per call), per configuration."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis import Redis

from skillquest.queue import default_queue
from skillquest.redis_client import cache_client, redis_connection


def test_one_client_and_pool_serve_every_call(settings):
    first = redis_connection()
    assert redis_connection() is first
    assert default_queue().connection is first
    first.ping()
    client_ids = {redis_connection().client_id() for _ in range(5)}
    assert len(client_ids) == 1  # the same server-side connection, not one per call


def test_pointing_the_queue_elsewhere_gets_a_client_for_that_server(settings):
    working = redis_connection()
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    elsewhere = redis_connection()
    assert elsewhere is not working
    assert elsewhere.connection_pool.connection_kwargs["port"] == 1


def test_the_cache_client_is_made_once_per_cache(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    first = cache_client(backend)
    assert cache_client(backend) is first
    client_ids = {cache_client(backend).client_id() for _ in range(5)}
    assert len(client_ids) == 1


def the_cache() -> RedisCache:
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    return backend


def test_every_asyncio_context_shares_the_cache_client():
    # Django makes a cache backend per asyncio context: the `ws` process admits each socket in the
    # consumer's own context, and a client made per backend was kept alive (with a Redis connection)
    # for as long as the socket stayed open.
    async def client_in_a_task_of_its_own() -> Redis:
        return await sync_to_async(lambda: cache_client(the_cache()))()

    async def scenario() -> list[Redis]:
        return list(
            await asyncio.gather(*(asyncio.create_task(client_in_a_task_of_its_own()) for _ in range(3)))
        )

    clients: list[Redis] = []
    thread = threading.Thread(target=lambda: clients.extend(async_to_sync(scenario)()))
    thread.start()
    thread.join(30)
    assert len(clients) == 3
    assert len({id(client) for client in clients}) == 1
    assert clients[0] is cache_client(the_cache())
