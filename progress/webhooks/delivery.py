"""The delivery pipeline's three steps, run by `progress.webhooks.jobs`.

1. `outbox_dispatch`: undispatched outbox events become one `WebhookDelivery` per active endpoint
   subscribed to their type (claimed FOR UPDATE SKIP LOCKED, so two workers never fan one out twice;
   a unique (event, endpoint) backs it up).
2. `deliveries_claim`: due deliveries are leased (their `next_attempt_at` moves to the lease's end)
   in a short transaction; no lock is held while the HTTP requests run.
3. `deliveries_record`: each attempt's outcome goes into the log, the delivery is done or scheduled
   per WEBHOOK_RETRY_SCHEDULE, and the endpoint's run of failures moves (disabling it after
   WEBHOOK_DISABLE_AFTER in a row). A worker that dies between 2 and 3 leaves the lease to run out:
   the delivery is sent again, with the same `webhook-id`.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from progress.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from progress.webhooks.sending import Outcome
from progress.webhooks.subscriptions import subscriptions_changed
from skillquest import metrics, sql
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.webhooks")

DISPATCH_BATCH = 1000


@transaction.atomic
def outbox_dispatch(*, limit: int = DISPATCH_BATCH) -> int:
    """Fan undispatched events out into deliveries; return how many deliveries were made."""
    events = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True)
        .select_for_update(skip_locked=True)
        .order_by("created_at")
        .values_list("pk", "type")[:limit]
    )
    if not events:
        return 0
    # Locked so that an endpoint deleted meanwhile cannot leave a delivery pointing at nothing.
    endpoints = list(
        WebhookEndpoint.objects.filter(active=True)
        .select_for_update(no_key=True)
        .order_by("pk")  # the order `_failures_counted` locks them in: no deadlock between the two
        .values_list("pk", "events")
    )
    now = timezone.now()
    deliveries = [
        WebhookDelivery(event_id=event_id, endpoint_id=endpoint_id, next_attempt_at=now, created_at=now)
        for event_id, type in events
        for endpoint_id, subscribed in endpoints
        if type in subscribed
    ]
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    OutboxEvent.objects.filter(pk__in=[event_id for event_id, _ in events]).update(dispatched_at=now)
    return len(deliveries)


def lease() -> timedelta:
    """How long a claimed delivery is left to its worker: an attempt's three timed steps and a margin."""
    return timedelta(seconds=3 * settings.WEBHOOK_TIMEOUT_SECONDS + 2)


def deliveries_claim(*, limit: int) -> list[WebhookDelivery]:
    """Lease up to `limit` due deliveries of active endpoints, oldest due first, with their event
    and endpoint loaded."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True
            )
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + lease())
    return list(WebhookDelivery.objects.filter(pk__in=ids).select_related("event", "endpoint"))


def retry_delay(failed_attempts: int) -> float | None:
    """Seconds before the next attempt after this many failures in a row; None: give up."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    return schedule[failed_attempts - 1] if failed_attempts <= len(schedule) else None


@transaction.atomic
def deliveries_record(results: Sequence[tuple[WebhookDelivery, Outcome]]) -> list[WebhookEndpoint]:
    """Log each attempt, finish or reschedule its delivery, move the endpoints' runs of failures;
    return the endpoints this disabled. Results are in the order the attempts finished."""
    # Locked in id order, and only those this worker still holds: an endpoint deleted while its requests
    # were in flight took its deliveries with it, and a delivery whose lease ran out (another worker
    # took it) or that staff requeued meanwhile has a new `next_attempt_at`. A late answer is dropped
    # rather than written over the newer state; its POST is made up for by the delivery's holder.
    current = dict(
        WebhookDelivery.objects.select_for_update()
        .filter(pk__in=[delivery.pk for delivery, _ in results], status=WebhookDelivery.Status.PENDING)
        .order_by("pk")
        .values_list("pk", "next_attempt_at")
    )
    results = [
        (delivery, outcome)
        for delivery, outcome in results
        if delivery.pk in current and current[delivery.pk] == delivery.next_attempt_at
    ]
    if not results:
        return []
    now = timezone.now()
    attempts, updates = [], []
    for delivery, outcome in results:
        failed = 0 if outcome.succeeded else delivery.failed_attempts + 1
        delay = None if outcome.succeeded or not outcome.retry else retry_delay(failed)
        next_at = now + timedelta(seconds=delay) if delay is not None else None
        status = (
            WebhookDelivery.Status.SUCCEEDED
            if outcome.succeeded
            else WebhookDelivery.Status.PENDING
            if next_at
            else WebhookDelivery.Status.FAILED
        )
        delivered_at = now if outcome.succeeded else delivery.delivered_at
        answer = (outcome.started_at, outcome.response_status, outcome.error, delivered_at)
        updates.append((delivery.pk, status, failed, next_at, *answer))
        attempts.append(
            WebhookAttempt(
                delivery_id=delivery.pk,
                started_at=outcome.started_at,
                succeeded=outcome.succeeded,
                response_status=outcome.response_status,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                response_body=outcome.response_body,
                next_retry_at=next_at,
            )
        )
    WebhookAttempt.objects.bulk_create(attempts)
    sql.update_rows(
        WebhookDelivery,
        ["status", "failed_attempts", "next_attempt_at", "last_attempt_at", "response_status", "error",
         "delivered_at"],
        updates,
    )  # fmt: skip
    disabled = _failures_counted(results)
    succeeded = sum(outcome.succeeded for _, outcome in results)
    transaction.on_commit(
        partial(
            metrics.webhook_attempts,
            succeeded=succeeded,
            failed=len(results) - succeeded,
            disabled=len(disabled),
        ),
        robust=True,
    )
    return disabled


def _failures_counted(results: Sequence[tuple[WebhookDelivery, Outcome]]) -> list[WebhookEndpoint]:
    """Per endpoint: a success ends its run of failures; a batch whose attempts failed after the last
    success extends it by one. One per batch, not per attempt: a busy endpoint's batch of 32 parallel
    attempts during a five-second restart is one failure, not 32, so only an endpoint that keeps
    failing round after round (its retries included) reaches WEBHOOK_DISABLE_AFTER."""
    runs: dict[uuid.UUID, tuple[bool, int, str]] = {}
    by_endpoint: dict[uuid.UUID, list[Outcome]] = defaultdict(list)
    for delivery, outcome in results:
        by_endpoint[delivery.endpoint_id].append(outcome)
    for endpoint_id, outcomes in by_endpoint.items():
        last_success = max((i for i, outcome in enumerate(outcomes) if outcome.succeeded), default=-1)
        trailing = outcomes[last_success + 1 :]
        runs[endpoint_id] = (last_success >= 0, 1 if trailing else 0, trailing[-1].error if trailing else "")
    reset = [pk for pk, (succeeded, failures, _) in runs.items() if succeeded and not failures]
    if reset:
        WebhookEndpoint.objects.filter(pk__in=reset, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
    failing = {pk: run for pk, run in runs.items() if run[1]}
    disabled = []
    for endpoint in WebhookEndpoint.objects.select_for_update().filter(pk__in=list(failing)).order_by("pk"):
        succeeded, failures, error = failing[endpoint.pk]
        endpoint.consecutive_failures = failures if succeeded else endpoint.consecutive_failures + failures
        if endpoint.active and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
            endpoint.active = False
            endpoint.disabled_at = timezone.now()
            failures = endpoint.consecutive_failures
            endpoint.disabled_reason = (
                f"Disabled after {failures} failed rounds of deliveries in a row; the last: {error}"[:1000]
            )
            disabled.append(endpoint)
            subscriptions_changed()
            log_event(
                logger,
                "webhook_endpoint_disabled",
                endpoint_id=str(endpoint.pk),
                failures=endpoint.consecutive_failures,
            )
        endpoint.save(update_fields=["consecutive_failures", "active", "disabled_at", "disabled_reason"])
    return disabled


def next_due_at() -> datetime | None:
    """When the earliest pending delivery of an active endpoint is due (or its lease ends)."""
    return (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, endpoint__active=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def undispatched_exists() -> bool:
    return OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
