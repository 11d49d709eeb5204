"""`/api/v1/admin/webhooks`: staff only; 201 with the secret once; 400 for a bad URL or event type;
404 for what does not exist; the delivery log paginated in a fixed number of queries; audited."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from progress.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from progress.webhooks import services
from progress.webhooks.subscriptions import subscribed_types
from skillquest.audit.models import AuditEntry

URL = "/api/v1/admin/webhooks/"
PUBLIC = "https://93.184.215.14/hooks/skillquest"  # a literal public address: no DNS needed


@pytest.fixture
def endpoint(db, staff_user):
    return services.endpoint_create(url=PUBLIC, events=["xp.awarded", "badge.awarded"], actor=staff_user)


def _delivery(endpoint, *, status="failed", attempts=2, type="xp.awarded") -> WebhookDelivery:
    event = OutboxEvent.objects.create(type=type, data={"n": 1}, dispatched_at=timezone.now())
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, status=status, failed_attempts=attempts
    )
    for index in range(attempts):
        WebhookAttempt.objects.create(
            delivery=delivery,
            started_at=timezone.now(),
            succeeded=False,
            response_status=500,
            latency_ms=12.5 + index,
            error="HTTP 500",
        )
    return delivery


def test_staff_create_an_endpoint_and_see_its_secret_once(staff_client):
    response = staff_client.post(
        URL, {"url": PUBLIC, "events": ["level.up", "xp.awarded"], "description": "Chat"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["events"] == ["xp.awarded", "level.up"]  # the catalogue's order
    assert body["active"] is True and body["url"] == PUBLIC
    assert WebhookEndpoint.objects.get(pk=body["id"]).secret == body["secret"]
    assert "secret" not in staff_client.get(f"{URL}{body['id']}/").json()
    assert all("secret" not in row for row in staff_client.get(URL).json()["results"])
    entry = AuditEntry.objects.get(action="webhook.create")
    assert entry.target_id == body["id"] and body["secret"] not in str(entry.changes)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": PUBLIC, "events": ["xp.stolen"]}, "events"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": PUBLIC}, "events"),
        ({"url": "not a url", "events": ["xp.awarded"]}, "url"),
        ({"url": "ftp://93.184.215.14/x", "events": ["xp.awarded"]}, "url"),
        ({"url": "http://93.184.215.14/x", "events": ["xp.awarded"]}, "url"),  # https required
        ({"url": "https://user:pw@93.184.215.14/x", "events": ["xp.awarded"]}, "url"),
        ({"url": "https://no-such-host.invalid/x", "events": ["xp.awarded"]}, "url"),
        ({"url": "https://" + "a" * 2000 + ".com/", "events": ["xp.awarded"]}, "url"),
        ({"events": ["xp.awarded"]}, "url"),
    ],
)
def test_bad_url_or_unknown_event_is_400_on_that_field(staff_client, body, field):
    response = staff_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not WebhookEndpoint.objects.exists()


def test_anonymous_is_401_and_players_403(api_client, auth_client, endpoint):
    paths = [
        ("get", URL), ("post", URL), ("get", f"{URL}{endpoint.pk}/"), ("patch", f"{URL}{endpoint.pk}/"),
        ("delete", f"{URL}{endpoint.pk}/"), ("get", f"{URL}{endpoint.pk}/deliveries/"),
        ("post", f"{URL}{endpoint.pk}/test/"), ("post", f"{URL}{endpoint.pk}/deliveries/1/redeliver/"),
    ]  # fmt: skip
    for method, path in paths:
        assert getattr(api_client, method)(path, {}, format="json").status_code == 401, path
        assert getattr(auth_client, method)(path, {}, format="json").status_code == 403, path
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_unknown_endpoint_or_delivery_is_404(staff_client, endpoint, staff_user):
    other = services.endpoint_create(url=PUBLIC, events=["xp.awarded"], actor=staff_user)
    foreign = _delivery(other)
    missing = uuid.uuid4()
    for method, path in [
        ("get", f"{URL}{missing}/"),
        ("patch", f"{URL}{missing}/"),
        ("delete", f"{URL}{missing}/"),
        ("get", f"{URL}{missing}/deliveries/"),
        ("post", f"{URL}{missing}/test/"),
        ("get", f"{URL}not-a-uuid/"),
        ("post", f"{URL}{endpoint.pk}/deliveries/999999/redeliver/"),
        ("post", f"{URL}{endpoint.pk}/deliveries/{foreign.pk}/redeliver/"),  # another endpoint's
    ]:
        response = getattr(staff_client, method)(path, {}, format="json")
        assert response.status_code == 404, (path, response.content)
        assert response.json()["code"] in {"webhook_not_found", "webhook_delivery_not_found", "not_found"}


def test_patch_changes_events_and_url_and_refuses_bad_ones(staff_client, endpoint):
    path = f"{URL}{endpoint.pk}/"
    response = staff_client.patch(path, {"events": ["xp.granted"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["events"] == ["xp.granted"] and response.json()["url"] == PUBLIC
    assert subscribed_types() == {"xp.granted"}  # the award job's cache follows at once
    assert staff_client.patch(path, {"url": "https://10.0.0.1/x"}, format="json").status_code == 400
    assert staff_client.patch(path, {"events": ["nope"]}, format="json").status_code == 400
    response = staff_client.put(
        path, {"url": "https://93.184.215.15/", "events": ["level.up"]}, format="json"
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.active) == ("https://93.184.215.15/", ["level.up"], True)
    assert AuditEntry.objects.filter(action="webhook.update", target_id=str(endpoint.pk)).count() == 2


def test_enabling_a_disabled_endpoint_clears_its_failures_and_reason(
    staff_client, endpoint, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, consecutive_failures=10, disabled_reason="Disabled after 10 failed deliveries in a row"
    )
    assert subscribed_types() == set()
    assert staff_client.get(f"{URL}{endpoint.pk}/").json()["disabled_reason"].startswith("Disabled after 10")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"{URL}{endpoint.pk}/", {"active": True}, format="json")
    assert response.status_code == 200
    assert response.json()["consecutive_failures"] == 0 and response.json()["disabled_reason"] == ""
    assert subscribed_types() == {"xp.awarded", "badge.awarded"}


def test_delete_removes_the_endpoint_and_its_deliveries_and_is_audited(staff_client, endpoint):
    _delivery(endpoint)
    assert staff_client.delete(f"{URL}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert OutboxEvent.objects.count() == 1  # events stay: other endpoints may still need them
    assert AuditEntry.objects.filter(action="webhook.delete", target_id=str(endpoint.pk)).exists()
    assert subscribed_types() == set()


def test_deliveries_are_paginated_newest_first_with_their_attempts(
    staff_client, endpoint, django_assert_num_queries
):
    made = [_delivery(endpoint, attempts=1 + index % 3) for index in range(25)]
    # Session/user (force_authenticate: none), endpoint, count, page, attempts.
    with django_assert_num_queries(4):
        response = staff_client.get(f"{URL}{endpoint.pk}/deliveries/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 25 and len(body["results"]) == 20 and body["next"]
    first = body["results"][0]
    assert first["id"] == made[-1].pk
    assert first["event_id"] == made[-1].event.message_id and first["event_type"] == "xp.awarded"
    assert len(first["attempts"]) == 1 + 24 % 3
    assert {"started_at", "succeeded", "response_status", "latency_ms", "error", "next_retry_at"} <= set(
        first["attempts"][0]
    )
    second = staff_client.get(f"{URL}{endpoint.pk}/deliveries/?page=2").json()
    assert len(second["results"]) == 5
    assert staff_client.get(f"{URL}{endpoint.pk}/deliveries/?page=9").status_code == 404


def test_send_test_event_queues_a_delivery_to_that_endpoint_only(staff_client, endpoint, staff_user):
    services.endpoint_create(url=PUBLIC, events=["xp.awarded"], actor=staff_user)
    response = staff_client.post(f"{URL}{endpoint.pk}/test/")
    assert response.status_code == 202, response.content
    assert response.json()["event_type"] == "webhook.test"
    assert WebhookDelivery.objects.get().endpoint_id == endpoint.pk
    assert AuditEntry.objects.filter(action="webhook.test", target_id=str(endpoint.pk)).exists()


def test_redeliver_requeues_with_the_same_id_and_a_fresh_schedule(staff_client, endpoint):
    delivery = _delivery(endpoint, status="failed", attempts=7)
    response = staff_client.post(f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["failed_attempts"] == 0
    assert body["event_id"] == delivery.event.message_id
    entry = AuditEntry.objects.get(action="webhook.redeliver")
    assert entry.changes["delivery_id"] == delivery.pk and entry.changes["status"] == "failed"


def test_test_and_redeliver_on_a_disabled_endpoint_are_409(staff_client, endpoint):
    delivery = _delivery(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    for path in (f"{URL}{endpoint.pk}/test/", f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"):
        response = staff_client.post(path)
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "webhook_endpoint_disabled"


def test_players_data_never_includes_webhooks(auth_client, endpoint):
    # A player sees no admin route at all, whatever the method.
    assert auth_client.get(URL).status_code == 403
    assert APIClient().get(URL).status_code == 401
