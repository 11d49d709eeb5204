"""The process's Redis clients are made once (no new connection per call), per configuration."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

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
