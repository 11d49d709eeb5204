"""Pruning the outbox: only finished events older than the retention go, with their delivery log; an
event with a delivery still to come is never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from progress.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from progress.webhooks.services import outbox_prune

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def endpoints():
    return [
        WebhookEndpoint.objects.create(
            url=f"https://93.184.215.14/hook/{n}", events=["xp.granted"], secret="s"
        )
        for n in range(2)
    ]


def _event(age_days: float, statuses: list[str], endpoints, *, dispatched: bool = True) -> OutboxEvent:
    created = timezone.now() - timedelta(days=age_days)
    event = OutboxEvent.objects.create(
        type="xp.granted",
        data={"amount": 1},
        created_at=created,
        dispatched_at=created if dispatched else None,
    )
    for endpoint, status in zip(endpoints, statuses, strict=False):
        delivery = WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, status=status, created_at=created
        )
        WebhookAttempt.objects.create(
            delivery=delivery, started_at=created, succeeded=status == Status.SUCCEEDED, latency_ms=3.0
        )
    return event


def test_finished_old_events_go_with_their_deliveries_and_attempts(endpoints):
    old_done = _event(40, [Status.SUCCEEDED, Status.FAILED], endpoints)
    old_retrying = _event(40, [Status.SUCCEEDED, Status.PENDING], endpoints)
    old_undispatched = _event(40, [], endpoints, dispatched=False)
    recent_done = _event(2, [Status.SUCCEEDED, Status.SUCCEEDED], endpoints)

    assert outbox_prune(before=timezone.now() - timedelta(days=30)) == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {
        old_retrying.pk,
        old_undispatched.pk,
        recent_done.pk,
    }
    assert not WebhookDelivery.objects.filter(event_id=old_done.pk).exists()
    assert not WebhookAttempt.objects.filter(delivery__event_id=old_done.pk).exists()
    assert WebhookAttempt.objects.count() == 4  # the kept events' logs are whole


def test_it_works_in_batches_and_a_second_run_finds_nothing(endpoints):
    for _ in range(5):
        _event(40, [Status.SUCCEEDED], endpoints)
    assert outbox_prune(before=timezone.now() - timedelta(days=30), batch_size=2) == 5
    assert outbox_prune(before=timezone.now() - timedelta(days=30), batch_size=2) == 0
    assert not OutboxEvent.objects.exists() and not WebhookAttempt.objects.exists()


def test_the_command_keeps_the_retention_days(endpoints, settings):
    settings.WEBHOOK_RETENTION_DAYS = 10
    _event(12, [Status.SUCCEEDED], endpoints)
    kept = _event(8, [Status.SUCCEEDED], endpoints)
    call_command("webhooks_prune")
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    call_command("webhooks_prune", "--days", "7")
    assert not OutboxEvent.objects.exists()
    with pytest.raises(CommandError, match="at least one day"):
        call_command("webhooks_prune", "--days", "0")
