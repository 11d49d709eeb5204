"""Parallel test workers never share a Redis database (skillquest/tests/redis_per_worker.py)."""

from __future__ import annotations

import os

import django_rq
import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from skillquest.redis_client import cache_client, redis_connection
from skillquest.tests.redis_per_worker import worker_redis_url


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/1", "gw0", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379/1", "gw1", "redis://127.0.0.1:6379/2"),
        ("redis://127.0.0.1:6379/10", "gw3", "redis://127.0.0.1:6379/13"),
        ("redis://cache:6379", "gw1", "redis://cache:6379/1"),
        (
            "rediss://:s3cret@cache:6380/4?ssl_cert_reqs=none",
            "gw2",
            "rediss://:s3cret@cache:6380/6?ssl_cert_reqs=none",
        ),
    ],
)
def test_each_worker_takes_the_next_index(url, worker, expected):
    assert worker_redis_url(url, worker) == expected


@pytest.mark.parametrize(
    ("url", "worker", "message"),
    [
        ("redis://127.0.0.1:6379/14", "gw2", "would use database 16"),
        ("unix:///run/redis.sock?db=1", "gw1", "need a redis:// URL"),
    ],
)
def test_an_index_that_cannot_be_moved_up_is_a_usage_error(url, worker, message):
    with pytest.raises(pytest.UsageError, match=message):
        worker_redis_url(url, worker)


def test_settings_cache_queue_and_child_processes_all_use_this_workers_database(settings):
    url = settings.REDIS_URL
    assert os.environ["REDIS_URL"] == url  # what the processes that tests start inherit
    assert settings.CACHES["default"]["LOCATION"] == settings.RQ_QUEUES["default"]["URL"] == url
    index = int(url.rsplit("/", 1)[1])
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    for client in (redis_connection(), django_rq.get_connection("default"), cache_client(backend)):
        assert client.connection_pool.connection_kwargs["db"] == index
