"""Reading webhook state for staff: endpoints and their delivery log."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from progress.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from skillquest.errors import NotFound


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("created_at", "id")


def endpoint_get(*, endpoint_id: uuid.UUID | str) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(pk=endpoint_id)
    except (WebhookEndpoint.DoesNotExist, ValueError, ValidationError):
        raise NotFound("Webhook endpoint not found.", code="webhook_not_found")


def deliveries_of(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its event and its attempts (newest first):
    three queries a page (the count, the page, the attempts)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(
            Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("-started_at", "-id"))
        )
        .order_by("-created_at", "-id")
    )


def delivery_get(*, endpoint: WebhookEndpoint, delivery_id: int | str) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.select_related("event", "endpoint").get(
            pk=delivery_id, endpoint=endpoint
        )
    except (WebhookDelivery.DoesNotExist, ValueError, ValidationError):
        raise NotFound("Delivery not found.", code="webhook_delivery_not_found")
