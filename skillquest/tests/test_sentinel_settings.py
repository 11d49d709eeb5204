"""REDIS_SENTINELS and friends as settings.py reads them: every Redis client follows the sentinels,
and a configuration that cannot work refuses to start with a message naming the variable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from channels_redis.utils import create_pool
from django.conf import settings

from skillquest import redis_sentinel
from skillquest.tests.helpers import ROOT, run_in_own_loop, settings_in_a_fresh_process

# The layer's pool options as they come back through JSON (keepalive's option numbers become strings).
LAYER_POOL = json.loads(json.dumps(settings.CHANNEL_LAYER_POOL))

SENTINEL_ENV = {
    "SECRET_KEY": "sentinel-settings-test",
    "REDIS_URL": "redis://app:s%40cret@mymaster/4",
    "REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381",
    "REDIS_SENTINEL_MASTER": "mymaster",
    "REDIS_SENTINEL_PASSWORD": "sentinel-pass",
}


def _env(**overrides: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("REDIS_")}
    return {**base, **SENTINEL_ENV, **overrides}


def _refusal(env: dict[str, str]) -> str:
    """The ImproperlyConfigured message a new interpreter stops with when settings load from `env`."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "skillquest.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    return result.stderr.strip().splitlines()[-1]


def test_every_client_is_configured_through_the_sentinels():
    queues, cache, hosts = settings_in_a_fresh_process(
        _env(),
        # Not CONNECTION_KWARGS: its Retry object is no JSON (the cache pool's is checked below).
        "[{name: {k: v for k, v in q.items() if k != 'CONNECTION_KWARGS'}"
        " for name, q in s.RQ_QUEUES.items()},"
        " s.CACHES['default'], s.CHANNEL_LAYERS['default']['CONFIG']['hosts']]",
    )
    sentinels = [["10.0.0.1", 26379], ["10.0.0.2", 26380], ["::1", 26381]]
    sentinel_kwargs = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0, "password": "sentinel-pass"}
    for queue in ("default", "webhooks"):
        assert queues[queue] == {
            "SENTINELS": sentinels,
            "MASTER_NAME": "mymaster",
            "DB": 4,
            "USERNAME": "app",
            "PASSWORD": "s@cret",
            "SOCKET_TIMEOUT": 5.0,
            "SENTINEL_KWARGS": sentinel_kwargs,
            "DEFAULT_TIMEOUT": 300,
        }
    assert cache == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://app:s%40cret@mymaster/4",
        "OPTIONS": {
            "pool_class": "skillquest.redis_sentinel.SentinelMasterPool",
            "sentinels": sentinels,
            "master_name": "mymaster",
            "sentinel_kwargs": sentinel_kwargs,
        },
    }
    assert hosts == [
        {
            "sentinels": sentinels,
            "master_name": "mymaster",
            "sentinel_kwargs": sentinel_kwargs,
            "db": 4,
            "username": "app",
            "password": "s@cret",
            "socket_connect_timeout": 1.0,
            **LAYER_POOL,
        }
    ]


def test_without_sentinels_redis_url_is_used_as_before():
    queue, cache, hosts = settings_in_a_fresh_process(
        _env(REDIS_SENTINELS="", REDIS_URL="redis://127.0.0.1:6379/3"),
        "[s.RQ_QUEUES['default'], s.CACHES['default'], s.CHANNEL_LAYERS['default']['CONFIG']['hosts']]",
    )
    assert queue == {"URL": "redis://127.0.0.1:6379/3", "DEFAULT_TIMEOUT": 300}
    assert cache == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
    }
    assert hosts == [
        {
            "address": "redis://127.0.0.1:6379/3",
            **LAYER_POOL,
        }
    ]


def test_the_channel_layer_reads_without_a_timeout_and_keeps_its_connections_alive():
    """redis-py 8 gives a connection a 5 s read timeout unless told otherwise; a send under a timeout
    goes through asyncio.wait_for, which on Python 3.11 can swallow a closing consumer's cancel. So the
    layer's connections have none, and TCP keepalive notices a dead host instead: on a real
    connection to the suite's Redis, as channels_redis opens it from our settings."""
    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    [host] = layers["default"]["CONFIG"]["hosts"]
    pool = create_pool(host)

    async def connected_socket_options() -> tuple[float | None, list[int]]:
        connection = await pool.get_connection()
        try:
            sock = connection._writer.get_extra_info("socket")
            tcp = socket.IPPROTO_TCP
            return connection.socket_timeout, [
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                sock.getsockopt(tcp, socket.TCP_KEEPIDLE),
                sock.getsockopt(tcp, socket.TCP_KEEPINTVL),
                sock.getsockopt(tcp, socket.TCP_KEEPCNT),
            ]
        finally:
            await pool.disconnect()

    timeout, (keepalive, idle, interval, count) = run_in_own_loop(connected_socket_options)
    assert timeout is None
    assert (bool(keepalive), idle, interval, count) == (True, 10, 5, 3)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"REDIS_SENTINEL_MASTER": ""}, "REDIS_SENTINELS needs REDIS_SENTINEL_MASTER"),
        ({"REDIS_URL": ""}, "REDIS_SENTINELS needs REDIS_SENTINEL_MASTER (the master's name) and REDIS_URL"),
        ({"REDIS_SENTINELS": "10.0.0.1:26379,10.0.0.2"}, "REDIS_SENTINELS: '10.0.0.2' is not host:port"),
        ({"REDIS_SENTINELS": "10.0.0.1:99999"}, "REDIS_SENTINELS: '10.0.0.1:99999' is not host:port"),
        (
            {"REDIS_URL": "redis://mymaster/cache"},
            "REDIS_URL: the path of REDIS_URL must be a database index",
        ),
        ({"REDIS_URL": "rediss://mymaster/0"}, "REDIS_URL: with REDIS_SENTINELS it must be a redis:// URL"),
    ],
)
def test_a_sentinel_configuration_that_cannot_work_refuses_to_start(overrides, message):
    refusal = _refusal(_env(**overrides))
    assert refusal.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert message in refusal


def test_the_cache_pool_takes_database_and_password_from_the_location():
    pool = redis_sentinel.SentinelMasterPool.from_url(
        "redis://:pw@ignored-host:1/7",
        sentinels=[("127.0.0.1", 1)],
        master_name="mymaster",
        sentinel_kwargs=redis_sentinel.sentinel_options(""),
    )
    assert pool.service_name == "mymaster"
    options = pool.connection_kwargs
    assert (options["db"], options["password"], options["socket_connect_timeout"]) == (7, "pw", 1.0)
    assert options["retry"].get_retries() == 4
