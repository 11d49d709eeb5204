"""Staff's webhook actions: endpoints (create, update, delete), a test event, a redelivery. Each is
audited (skillquest.audit) in its own transaction and schedules delivery once it commits."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from progress.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from progress.webhooks import events as types
from progress.webhooks.jobs import schedule_delivery
from progress.webhooks.subscriptions import subscriptions_changed
from progress.webhooks.targets import resolve
from skillquest.audit.services import audit_changes, audit_created, audit_deleted, audit_record
from skillquest.errors import Conflict, InvalidInput

# What the audit log records of an endpoint: never its secret.
AUDITED_FIELDS = ("url", "events", "description", "active")


class EndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"
    message = "This endpoint is disabled: enable it (active: true) first."


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64, the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(name, str) for name in events):
        raise InvalidInput("A non-empty list of event types.", field="events")
    unknown = sorted(set(events) - set(types.TYPES))
    if unknown:
        raise InvalidInput(
            f"Unknown event type {unknown[0]!r}; one of: {', '.join(types.TYPES)}.", field="events"
        )
    return sorted(set(events), key=list(types.TYPES).index)


@transaction.atomic
def endpoint_create(
    *, url: str, events: list[str], actor: Any, active: bool = True, description: str = ""
) -> WebhookEndpoint:
    resolve(url)
    endpoint = WebhookEndpoint.objects.create(
        url=url, events=validate_events(events), active=active, description=description, secret=new_secret()
    )
    audit_created(actor=actor, action="webhook.create", instance=endpoint, fields=AUDITED_FIELDS)
    subscriptions_changed()
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, actor: Any, **fields: Any) -> WebhookEndpoint:
    """Change an endpoint. Enabling it again clears its failures and reason, and its pending
    deliveries (kept while it was off) go out again."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in fields:
        resolve(fields["url"])
    if "events" in fields:
        fields["events"] = validate_events(fields["events"])
    enabling = fields.get("active") is True and not endpoint.active
    with audit_changes(actor=actor, action="webhook.update", instance=endpoint, fields=AUDITED_FIELDS):
        for name, value in fields.items():
            setattr(endpoint, name, value)
        if enabling:
            endpoint.consecutive_failures, endpoint.disabled_reason, endpoint.disabled_at = 0, "", None
        endpoint.save()
    subscriptions_changed()
    if enabling:
        _deliver_after_commit()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    audit_deleted(actor=actor, action="webhook.delete", instance=endpoint, fields=AUDITED_FIELDS)
    endpoint.delete()  # its deliveries and their log with it; the events stay for other endpoints
    subscriptions_changed()


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, actor: Any) -> WebhookDelivery:
    """A `webhook.test` event for this endpoint only, delivered like any other."""
    if not endpoint.active:
        raise EndpointDisabled()
    now = timezone.now()
    event = OutboxEvent.objects.create(
        type=types.TEST_TYPE,
        data={"endpoint_id": str(endpoint.pk), "message": "A test event sent by staff from SkillQuest."},
        created_at=now,
        dispatched_at=now,
    )
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, next_attempt_at=now, created_at=now
    )
    audit_record(actor=actor, action="webhook.test", target=endpoint, changes={"event_id": event.message_id})
    _deliver_after_commit()
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor: Any) -> WebhookDelivery:
    """Send a delivery again (same `webhook-id`), with a fresh retry schedule, whatever its status."""
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("endpoint", "event").get(pk=delivery.pk)
    )
    if not delivery.endpoint.active:
        raise EndpointDisabled()
    before = delivery.status
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.failed_attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "failed_attempts", "next_attempt_at"])
    audit_record(
        actor=actor,
        action="webhook.redeliver",
        target=delivery.endpoint,
        changes={"delivery_id": delivery.pk, "event_id": delivery.event.message_id, "status": before},
    )
    _deliver_after_commit()
    return delivery


def outbox_prune(*, before: datetime, batch_size: int = 1000) -> int:
    """Delete the events created before `before` whose deliveries are all finished (succeeded or failed),
    with their deliveries and attempt log; returns how many events went.

    An event not yet dispatched, or with a delivery still pending (a retry to come, a redelivery), stays:
    pruning never loses a message. Each batch is its own transaction and locks its deliveries first, so
    a redelivery committed meanwhile keeps its event (the statuses are read again under the lock).
    """
    finished = (
        OutboxEvent.objects.filter(created_at__lt=before, dispatched_at__isnull=False)
        .exclude(deliveries__status=WebhookDelivery.Status.PENDING)
        .order_by("created_at", "id")
    )
    deleted = 0
    while True:
        with transaction.atomic():
            candidates = list(finished.values_list("pk", flat=True)[:batch_size])
            if not candidates:
                return deleted
            locked = WebhookDelivery.objects.select_for_update().filter(event_id__in=candidates)
            pending = {
                event_id
                for event_id, status in locked.values_list("event_id", "status")
                if status == WebhookDelivery.Status.PENDING
            }
            ids = [pk for pk in candidates if pk not in pending]
            OutboxEvent.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
        if len(candidates) < batch_size:
            return deleted


def _deliver_after_commit() -> None:
    transaction.on_commit(schedule_delivery, robust=True)
