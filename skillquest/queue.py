"""Scheduling background jobs: on the RQ worker with Redis, in-process without it (the quickstart)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from skillquest.errors import ServiceUnavailable
from skillquest.logging import current_request_id
from skillquest.redis_client import redis_connection

logger = logging.getLogger("skillquest.queue")

DEFAULT_RETRY = Retry(max=3, interval=[2, 10, 60])


def default_queue(name: str = "default") -> Queue:
    return django_rq.get_queue(name, connection=redis_connection())


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    queue_name: str = "default",
    **kwargs: Any,
) -> bool:
    """Run `func(*args)` in the background; True when it was queued (or ran), False if Redis is down.

    Callers only schedule idempotent jobs whose work is also found by a sweep (`award_pending`),
    so a job that could not be queued is delayed, never lost. The request id of the web request that
    enqueues travels in the job's meta; skillquest.worker.Worker binds it to the job's log lines.
    `queue_name`: "default", or "webhooks", which the Procfile's worker serves after "default".
    """
    if settings.JOBS_IN_PROCESS:
        func(*args, **kwargs)
        return True
    try:
        default_queue(queue_name).enqueue(
            func,
            args=args,
            kwargs=kwargs,
            job_id=job_id,
            retry=DEFAULT_RETRY,
            meta={"request_id": current_request_id()},
        )
    except RedisError:
        # Not `args`: that name is reserved on LogRecord and would raise instead of logging.
        logger.warning("enqueue_failed", extra={"job": func.__name__, "job_args": args}, exc_info=True)
        return False
    return True


def enqueue_in(delay: timedelta, func: Callable[..., Any], *args: Any) -> bool:
    """`enqueue_at` once `delay` has passed."""
    return enqueue_at(timezone.now() + delay, func, *args)


def enqueue_at(
    when: datetime,
    func: Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    queue_name: str = "default",
) -> bool:
    """Run `func(*args)` at `when` on the worker (its `--with-scheduler` moves the job to the queue
    then); True when it was scheduled (or ran), False if Redis is down or nothing can run it later.

    As with `enqueue`, callers schedule only idempotent jobs whose work a sweep also finds. In-process
    (no Redis: the quickstart) a job that is already due runs at once; one for later cannot be kept
    by anyone, and is left to the sweep (`manage.py award_pending`).
    """
    if settings.JOBS_IN_PROCESS:
        if when > timezone.now():
            return False
        func(*args)
        return True
    try:
        default_queue(queue_name).enqueue_at(
            when,
            func,
            args=args,
            job_id=job_id,
            retry=DEFAULT_RETRY,
            meta={"request_id": current_request_id()},
        )
    except RedisError:
        logger.warning("enqueue_failed", extra={"job": func.__name__, "job_args": args}, exc_info=True)
        return False
    return True


TRACKED_RESULT_TTL = 24 * 3600


def enqueue_tracked(func: Callable[..., Any], *args: Any) -> str:
    """Run a job whose status and result callers look up later by id (staff commands such as recalc)."""
    job_id = uuid.uuid4().hex
    if settings.JOBS_IN_PROCESS:
        try:
            status = {"status": JobStatus.FINISHED.value, "result": func(*args)}
        except Exception as exc:
            logger.exception("job_failed", extra={"job": func.__name__, "job_id": job_id})
            status = {"status": JobStatus.FAILED.value, "error": f"{type(exc).__name__}: {exc}"}
        cache.set(f"skillquest:job:{job_id}", status, TRACKED_RESULT_TTL)
        return job_id
    try:
        default_queue().enqueue(
            func,
            args=args,
            job_id=job_id,
            result_ttl=TRACKED_RESULT_TTL,
            failure_ttl=TRACKED_RESULT_TTL,
            meta={"request_id": current_request_id()},
        )
    except RedisError:
        logger.warning("enqueue_failed", extra={"job": func.__name__}, exc_info=True)
        raise ServiceUnavailable("The job queue is unavailable; try again shortly.", code="queue_unavailable")
    return job_id


def job_status(job_id: str) -> dict[str, Any] | None:
    """`{status, result?, error?}` of a tracked job, or None if there is no such job (or it expired)."""
    if settings.JOBS_IN_PROCESS:
        return cache.get(f"skillquest:job:{job_id}")
    try:
        job = Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        return None
    except RedisError:
        raise ServiceUnavailable("The job queue is unavailable; try again shortly.", code="queue_unavailable")
    status = job.get_status()
    info: dict[str, Any] = {"status": status.value if status else "unknown"}
    if status == JobStatus.FINISHED:
        info["result"] = job.return_value()
    elif status == JobStatus.FAILED:
        latest = job.latest_result()
        info["error"] = (
            (latest.exc_string or "").strip().splitlines()[-1] if latest and latest.exc_string else None
        )
    return info
