"""The delivery job and its scheduling, on RQ's `webhooks` queue (the Procfile's worker serves it
after `default`, so a waiting award always goes first).

`deliver_due` takes no arguments and re-reads everything: it fans out the outbox, then leases and
sends due deliveries a batch at a time (the HTTP requests of a batch run in parallel threads) until
none is due, its time budget is spent or a job waits on the default queue (an award), when it queues
itself again behind whatever waits: a slow or dead endpoint holds a worker for one batch at most
(its attempts time out together), never the awards behind it. A job that finds an award waiting,
or an award backlog, before its first batch sends nothing and comes back a second later: every
idle worker is asked to help drain a backlog (progress.jobs), and a batch to a dead endpoint would
hold one of them for its whole timeout. Running
it twice, or on two workers at once, is harmless (`progress.webhooks.delivery`). It is scheduled:
- after every commit that wrote outbox rows or requeued a delivery (`schedule_delivery`: one job
  waits at a time, as with awards);
- at each batch's lease end, so a worker killed mid-batch is made up for by any other;
- at the earliest retry still pending when it finishes;
- by the worker's start-up sweep (`manage.py award_pending` → `schedule_sweep`), for whatever was
  lost with Redis.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from challenges.models import Attempt
from progress.models import WebhookDelivery
from progress.webhooks import delivery
from progress.webhooks.sending import Outcome, body_of, send
from skillquest.queue import default_queue, enqueue, enqueue_at
from skillquest.redis_client import redis_connection

logger = logging.getLogger("skillquest.webhooks")

QUEUE = "webhooks"
SLOT_KEY = "skillquest:webhooks:job-waiting"
SLOT_TTL = 60
# Parallel HTTP requests per job, and so deliveries leased per batch.
CONCURRENCY = 32
# After this long a job queues itself again, letting jobs that waited meanwhile run.
TIME_BUDGET_SECONDS = 2.0
# Pending awards from which deliveries wait for the drain: a full award batch (a backlog, not the
# few attempts a steady flow always has pending); None reads progress.awards.services'.
AWARD_BACKLOG: int | None = None


def deliver_due() -> dict[str, Any]:
    """Dispatch the outbox and send every delivery that is due; how many of each it handled."""
    _release_slot()
    started = time.monotonic()
    dispatched = sent = succeeded = 0
    # In-process (the quickstart) there is no other worker and no queue: the loop goes on until nothing
    # is due, rather than the job calling itself (a large backlog would nest ~10k frames deep).
    in_process = settings.JOBS_IN_PROCESS
    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="webhook") as pool:
        while True:
            dispatched += delivery.outbox_dispatch()
            if sent == 0 and not in_process and _awards_first():
                # Every idle worker is wanted for the awards (progress.jobs asks them all to drain a
                # backlog): a batch started now would hold this worker from them for as long as a
                # dead endpoint takes to time out. This job comes back in a second.
                _schedule_at(timezone.now())
                break
            batch = delivery.deliveries_claim(limit=CONCURRENCY)
            if not batch:
                break
            if sent == 0 and len(batch) == CONCURRENCY and not in_process:
                # A backlog of deliveries (and none of awards, checked above): another worker may
                # take a share.
                schedule_delivery(force=True)
            _schedule_at(timezone.now() + delivery.lease())
            outcomes = list(pool.map(_attempt, batch))
            delivery.deliveries_record(list(zip(batch, outcomes, strict=True)))
            sent += len(batch)
            succeeded += sum(outcome.succeeded for outcome in outcomes)
            # Awards first: a job waiting on the default queue gets this worker after this batch
            # (the worker serves `default` before `webhooks`), and the rest waits behind it.
            if not in_process and (time.monotonic() - started > TIME_BUDGET_SECONDS or _awards_first()):
                schedule_delivery(force=True)
                break
    due = delivery.next_due_at()
    if due is not None and due > timezone.now():
        _schedule_at(due)
    return {"dispatched": dispatched, "sent": sent, "succeeded": succeeded}


def _awards_first() -> bool:
    """Whether the awards should have the workers: a job (an award, a freeze) waits on the default
    queue (one LLEN), or a backlog of at least `AWARD_BACKLOG` attempts is pending (one count over
    the pending-award index, at most that many rows), which every idle worker is asked to drain."""
    if settings.JOBS_IN_PROCESS:
        return False
    try:
        if default_queue().count > 0:
            return True
    except RedisError:
        pass
    # Imported here: the award service records webhook events, so it imports this package first.
    from progress.awards.services import AWARD_BATCH_SIZE

    backlog = AWARD_BACKLOG or AWARD_BATCH_SIZE
    return Attempt.objects.award_pending()[:backlog].count() >= backlog


def _attempt(row: WebhookDelivery) -> Outcome:
    event = row.event
    return send(
        url=row.endpoint.url,
        secret=row.endpoint.secret,
        message_id=event.message_id,
        body=body_of(type=event.type, created_at=event.created_at, data=event.data),
    )


def schedule_delivery(*, force: bool = False) -> bool:
    """Make sure a delivery job will run soon; False if Redis is down (the sweep finds the work)."""
    if settings.JOBS_IN_PROCESS:
        return enqueue(deliver_due)
    try:
        taken = redis_connection().set(SLOT_KEY, "1", nx=True, ex=SLOT_TTL)
    except RedisError:
        logger.warning("webhook_schedule_failed", exc_info=True)
        return False
    if not taken and not force:
        return True
    queued = enqueue(deliver_due, queue_name=QUEUE)
    if not queued:
        _release_slot()
    return queued


def _schedule_at(when: datetime) -> bool:
    """A delivery job at `when` (to the next second): one per second however many ask for it."""
    second = int(when.timestamp()) + 1
    return enqueue_at(
        when.replace(microsecond=0) + timedelta(seconds=1),
        deliver_due,
        job_id=f"webhooks-due-{second}",
        queue_name=QUEUE,
    )


def schedule_sweep() -> bool | None:
    """The worker's start-up sweep: a job now for undispatched events and due deliveries, and one at
    the earliest pending retry or lease end. None when there is nothing to deliver; False if a job
    could not be scheduled."""
    undispatched = delivery.undispatched_exists()
    due = delivery.next_due_at()
    if not undispatched and due is None:
        return None
    now = timezone.now()
    queued = True
    if undispatched or (due is not None and due <= now):
        queued = schedule_delivery(force=True)
    if due is not None and due > now and not settings.JOBS_IN_PROCESS:  # in-process: the next sweep's
        queued = _schedule_at(due) and queued
    return queued


def _release_slot() -> None:
    if settings.JOBS_IN_PROCESS:
        return
    try:
        redis_connection().delete(SLOT_KEY)
    except RedisError:
        logger.warning("job_slot_release_failed", extra={"key": SLOT_KEY}, exc_info=True)
