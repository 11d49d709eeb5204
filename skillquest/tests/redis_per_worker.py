"""Each pytest-xdist worker gets a Redis database index of its own, chosen before settings.py runs.

The suite flushes its Redis database before and after every test (conftest.py `_clean_redis`), so two
workers on one index would wipe each other's queues, boards and throttle counters. Worker `gwN` uses
the index of REDIS_URL plus N: with pyproject's default `redis://127.0.0.1:6379/1` and `make test`'s
two workers, indexes 1 and 2; with `REDIS_URL=redis://cache:6379/10`, 10 and 11. Without xdist
(`-n 0`) REDIS_URL is used as it is.

Loaded with `-p` (pyproject addopts) because settings.py builds REDIS_URL, the cache, the RQ queues
and JOBS_IN_PROCESS when pytest-django imports it, before any conftest.py is read. This hook runs
after pytest-env's (which sets REDIS_URL's default; both are `tryfirst`, and the later-registered
pytest-env is called first) and before pytest-django's. It changes the environment, so the processes
that tests start inherit the worker's index too.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

# Redis' default `databases`: the base index plus the number of workers must stay below it.
REDIS_DATABASES = 16


def worker_redis_url(url: str, worker: str) -> str:
    """`url` with its database index moved up by the worker's number (`gw0` keeps it)."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not (parts.path.strip("/") or "0").isdigit():
        raise pytest.UsageError(
            f"REDIS_URL={url!r}: parallel tests need a redis:// URL whose path is a database index "
            "(each worker takes the next one); or run them in one process with -n 0."
        )
    index = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    if index >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL={url!r}: worker {worker} would use database {index}, past Redis' default "
            f"{REDIS_DATABASES}; lower the index in REDIS_URL or run fewer workers."
        )
    return urlunsplit(parts._replace(path=f"/{index}"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("REDIS_URL", "")
    if worker and url:  # an empty REDIS_URL means no Redis at all: nothing to share
        os.environ["REDIS_URL"] = worker_redis_url(url, worker)
