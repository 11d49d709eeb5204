"""The RQ worker class named in the Procfile: each job runs inside the log context of its request."""

from __future__ import annotations

import logging
import time

from rq.worker import SimpleWorker

from skillquest.logging import log_context, log_event
from skillquest.redis_sentinel import worker_retry

logger = logging.getLogger("skillquest.worker")


class Worker(SimpleWorker):
    """A SimpleWorker (no fork per job: Django's connections and the metrics files stay per process)
    whose jobs log with the request id of the web request that enqueued them (`job.meta`, set by
    skillquest.queue.enqueue) and their own job id. Sweeps (`award_pending`) have no request id.

    Its own Redis connection (RQ's bookkeeping, and the scheduler process, which copies it) retries
    for long enough to outlast a Sentinel failover or a Redis restart (`worker_retry`): RQ survives a
    connection error only while it waits for a job; one met elsewhere (a heartbeat after a job, the
    scheduler's loop) ends the worker or its scheduler, which RQ restarts only every 10 minutes.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection.set_retry(worker_retry())

    def perform_job(self, job, queue, execution) -> bool:
        with log_context(request_id=job.meta.get("request_id"), job_id=job.id):
            started = time.perf_counter()
            log_event(
                logger, "job_started", job=job.func_name, queue=queue.name, retries_left=job.retries_left
            )
            ok = super().perform_job(job, queue, execution)
            log_event(
                logger,
                "job_finished",
                job=job.func_name,
                queue=queue.name,
                ok=ok,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            return ok
