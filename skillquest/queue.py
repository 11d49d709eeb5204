"""Scheduling background jobs: on the RQ worker with Redis, in-process without it (the quickstart)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq import Retry

logger = logging.getLogger("skillquest.queue")

DEFAULT_RETRY = Retry(max=3, interval=[2, 10, 60])


def enqueue(func: Callable[..., Any], *args: Any, job_id: str | None = None, **kwargs: Any) -> bool:
    """Run `func(*args)` in the background; True when it was queued (or ran), False if Redis is down.

    Callers only schedule idempotent jobs whose work is also found by a sweep (`award_pending`),
    so a job that could not be queued is delayed, never lost.
    """
    if settings.JOBS_IN_PROCESS:
        func(*args, **kwargs)
        return True
    try:
        # commit_mode="auto": callers already schedule after commit (transaction.on_commit); django-rq's
        # default would defer again inside an atomic block, hiding a Redis failure from our return value.
        django_rq.get_queue("default", commit_mode="auto").enqueue(
            func, args=args, kwargs=kwargs, job_id=job_id, retry=DEFAULT_RETRY
        )
    except RedisError:
        # Not `args`: that name is reserved on LogRecord and would raise instead of logging.
        logger.warning("enqueue_failed", extra={"job": func.__name__, "job_args": args}, exc_info=True)
        return False
    return True
