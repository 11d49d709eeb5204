"""The Django admin's webhooks: endpoints go through the services (SSRF check, audit, secret shown once),
the delivery log is read-only with its attempts, and "send test event" and "redeliver" are actions."""

from __future__ import annotations

import pytest
from django.utils import timezone

from progress.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from progress.webhooks import services
from skillquest.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hook"


def _form(**overrides):
    return {
        "url": PUBLIC,
        "events": ["xp.awarded", "level.up"],
        "description": "Chat",
        "active": "on",
        **overrides,
    }


def test_adding_an_endpoint_shows_its_secret_once_and_is_audited(admin_client):
    response = admin_client.post("/admin/progress/webhookendpoint/add/", _form(), follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["xp.awarded", "level.up"]
    assert endpoint.secret in response.content.decode()  # in the message after saving
    change = admin_client.get(f"/admin/progress/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in change.content.decode()
    assert AuditEntry.objects.filter(action="webhook.create", target_id=str(endpoint.pk)).exists()


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://localhost/x", "http://93.184.215.14/"])
def test_the_admin_refuses_unsafe_urls(admin_client, url):
    response = admin_client.post("/admin/progress/webhookendpoint/add/", _form(url=url))
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_editing_and_deleting_go_through_the_services(admin_client, admin_user):
    endpoint = services.endpoint_create(url=PUBLIC, events=["xp.awarded"], actor=admin_user)
    response = admin_client.post(
        f"/admin/progress/webhookendpoint/{endpoint.pk}/change/", _form(events=["badge.awarded"])
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["badge.awarded"]
    assert AuditEntry.objects.filter(action="webhook.update").exists()
    response = admin_client.post(f"/admin/progress/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(action="webhook.delete").exists()


def test_test_event_and_redeliver_actions_and_the_log(admin_client, admin_user):
    endpoint = services.endpoint_create(url=PUBLIC, events=["xp.awarded"], actor=admin_user)
    response = admin_client.post(
        "/admin/progress/webhookendpoint/",
        {"action": "send_test_event", "_selected_action": [str(endpoint.pk)]},
        follow=True,
    )
    assert "Test event queued" in response.content.decode()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event.type == "webhook.test"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", failed_attempts=7)
    WebhookAttempt.objects.create(
        delivery=delivery, started_at=timezone.now(), succeeded=False, response_status=503, latency_ms=8.0,
        error="HTTP 503",
    )  # fmt: skip
    assert admin_client.get("/admin/progress/webhookdelivery/").status_code == 200
    page = admin_client.get(f"/admin/progress/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200 and "HTTP 503" in page.content.decode()
    response = admin_client.post(
        "/admin/progress/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )
    assert "queued again" in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.failed_attempts) == ("pending", 0)
    assert OutboxEvent.objects.count() == 1  # the same event, the same webhook-id
    assert AuditEntry.objects.filter(action="webhook.redeliver").exists()
