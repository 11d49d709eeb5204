"""Scheduling background jobs: on the RQ worker with Redis, in-process without it (the quickstart)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq import Retry

from skillquest.logging import current_request_id

logger = logging.getLogger("skillquest.queue")

DEFAULT_RETRY = Retry(max=3, interval=[2, 10, 60])


def enqueue(func: Callable[..., Any], *args: Any, job_id: str | None = None, **kwargs: Any) -> bool:
    """Run `func(*args)` in the background; True when it was queued (or ran), False if Redis is down.

    Callers only schedule idempotent jobs whose work is also found by a sweep (`award_pending`),
    so a job that could not be queued is delayed, never lost. The request id of the web request that
    enqueues travels in the job's meta; skillquest.worker.Worker binds it to the job's log lines.
    """
    if settings.JOBS_IN_PROCESS:
        func(*args, **kwargs)
        return True
    try:
        django_rq.get_queue("default").enqueue(
            func,
            args=args,
            kwargs=kwargs,
            job_id=job_id,
            retry=DEFAULT_RETRY,
            meta={"request_id": current_request_id()},
        )
    except RedisError:
        logger.warning("enqueue_failed", extra={"job": func.__name__, "args": args}, exc_info=True)
        return False
    return True
