"""The delivery pipeline's steps on the database: fan-out by subscription, leases, the retry schedule,
the run of failures, and an endpoint deleted while its requests were in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from progress.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from progress.webhooks import delivery, services
from progress.webhooks.sending import Outcome

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hook"


def _ok() -> Outcome:
    return Outcome(succeeded=True, started_at=datetime.now(UTC), latency_ms=3.0, response_status=200)


def _fail(error: str = "HTTP 500") -> Outcome:
    return Outcome(
        succeeded=False, started_at=datetime.now(UTC), latency_ms=3.0, response_status=500, error=error
    )


@pytest.fixture
def endpoints(staff_user):
    return (
        services.endpoint_create(url=PUBLIC, events=["xp.awarded", "level.up"], actor=staff_user),
        services.endpoint_create(url=PUBLIC, events=["level.up"], actor=staff_user),
        services.endpoint_create(url=PUBLIC, events=["xp.awarded"], actor=staff_user, active=False),
    )


def test_dispatch_makes_one_delivery_per_active_subscribed_endpoint_once(endpoints):
    first, second, _ = endpoints
    awarded = OutboxEvent.objects.create(type="xp.awarded", data={})
    level = OutboxEvent.objects.create(type="level.up", data={})
    assert delivery.outbox_dispatch() == 3
    assert delivery.outbox_dispatch() == 0  # dispatched once
    pairs = set(WebhookDelivery.objects.values_list("event_id", "endpoint_id"))
    assert pairs == {(awarded.pk, first.pk), (level.pk, first.pk), (level.pk, second.pk)}
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_claim_leases_due_deliveries_so_a_second_claim_gets_none(endpoints, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    OutboxEvent.objects.create(type="xp.awarded", data={})
    delivery.outbox_dispatch()
    (claimed,) = delivery.deliveries_claim(limit=10)
    assert delivery.deliveries_claim(limit=10) == []
    claimed.refresh_from_db()
    assert claimed.next_attempt_at is not None
    assert claimed.next_attempt_at > timezone.now() + timedelta(seconds=15)  # 3 x 5 s + 2 s of lease


def test_failures_follow_the_schedule_then_give_up(endpoints, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0, 30.0]
    settings.WEBHOOK_DISABLE_AFTER = 100
    OutboxEvent.objects.create(type="xp.awarded", data={})
    delivery.outbox_dispatch()
    row = WebhookDelivery.objects.get()
    for expected_delay in (5, 30):
        before = timezone.now()
        delivery.deliveries_record([(row, _fail())])
        row.refresh_from_db()
        assert row.status == "pending" and row.next_attempt_at is not None
        assert abs((row.next_attempt_at - before).total_seconds() - expected_delay) < 2
    delivery.deliveries_record([(row, _fail("Timed out after 5 s."))])
    row.refresh_from_db()
    assert (row.status, row.next_attempt_at, row.failed_attempts) == ("failed", None, 3)
    assert row.error == "Timed out after 5 s."
    log = list(WebhookAttempt.objects.filter(delivery=row).order_by("started_at"))
    assert [attempt.next_retry_at is not None for attempt in log] == [True, True, False]


def test_a_success_ends_the_run_of_failures_and_enough_failed_rounds_disable(endpoints, settings):
    settings.WEBHOOK_DISABLE_AFTER = 3
    first = endpoints[0]
    for _ in range(4):
        OutboxEvent.objects.create(type="xp.awarded", data={})
    delivery.outbox_dispatch()

    def rows() -> list[WebhookDelivery]:  # as a claim reads them: each record needs the current lease
        return list(WebhookDelivery.objects.filter(endpoint=first).order_by("pk"))

    current = rows()
    delivery.deliveries_record([(current[0], _fail()), (current[1], _fail()), (current[2], _ok())])
    first.refresh_from_db()
    assert first.consecutive_failures == 0 and first.active
    # A batch whose parallel attempts all failed (a receiver restarting) is one failure, not three.
    assert delivery.deliveries_record([(row, _fail()) for row in rows()]) == []
    first.refresh_from_db()
    assert first.consecutive_failures == 1 and first.active
    current = rows()
    assert delivery.deliveries_record([(current[3], _fail()), (current[0], _fail())]) == []
    first.refresh_from_db()
    assert first.consecutive_failures == 2
    (disabled,) = delivery.deliveries_record([(rows()[1], _fail("HTTP 502"))])
    first.refresh_from_db()
    assert disabled.pk == first.pk and not first.active and first.disabled_at is not None
    assert (
        first.disabled_reason == "Disabled after 3 failed rounds of deliveries in a row; the last: HTTP 502"
    )
    assert delivery.deliveries_claim(limit=10) == []  # a disabled endpoint's deliveries wait


def test_a_late_answer_from_a_lease_that_ran_out_is_dropped(endpoints, staff_user):
    OutboxEvent.objects.create(type="level.up", data={})
    delivery.outbox_dispatch()
    claimed = delivery.deliveries_claim(limit=10)
    (mine,) = [row for row in claimed if row.endpoint_id == endpoints[0].pk]
    # Meanwhile staff requeue it (or its lease ran out and another worker claimed it): a new lease.
    services.delivery_redeliver(delivery=mine, actor=staff_user)
    assert delivery.deliveries_record([(mine, _fail())]) == []
    fresh = WebhookDelivery.objects.get(pk=mine.pk)
    assert fresh.status == "pending" and fresh.failed_attempts == 0
    assert not WebhookAttempt.objects.filter(delivery=mine).exists()  # the newer state stands


def test_an_endpoint_deleted_mid_flight_records_nothing_for_it(endpoints, staff_user):
    first, second, _ = endpoints
    OutboxEvent.objects.create(type="level.up", data={})
    delivery.outbox_dispatch()
    claimed = delivery.deliveries_claim(limit=10)
    assert len(claimed) == 2
    services.endpoint_delete(endpoint=first, actor=staff_user)
    delivery.deliveries_record([(row, _ok()) for row in claimed])
    assert list(WebhookDelivery.objects.values_list("endpoint_id", "status")) == [(second.pk, "succeeded")]
    assert WebhookEndpoint.objects.count() == 2


def test_recorded_attempts_and_disabled_endpoints_are_counted_after_commit(
    endpoints, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER = 1

    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    ok, failed, disabled = (
        count("skillquest_webhook_attempts_total", outcome="ok"),
        count("skillquest_webhook_attempts_total", outcome="failed"),
        count("skillquest_webhook_endpoints_disabled_total"),
    )
    OutboxEvent.objects.create(type="level.up", data={})
    delivery.outbox_dispatch()
    first, second = WebhookDelivery.objects.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliveries_record([(first, _ok()), (second, _fail())])
    assert count("skillquest_webhook_attempts_total", outcome="ok") == ok + 1
    assert count("skillquest_webhook_attempts_total", outcome="failed") == failed + 1
    assert count("skillquest_webhook_endpoints_disabled_total") == disabled + 1
