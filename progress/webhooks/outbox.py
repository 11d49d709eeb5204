"""Writing the outbox inside the transaction of the change it reports.

`outbox_record` is called by the award batch, staff grants and the badge evaluator while their
transaction is open: the rows commit or roll back with the change, and the delivery job is scheduled
only once it has committed. To keep the award job fast it writes only the types some active endpoint
subscribes to (`subscriptions`, one Redis GET per call). An endpoint therefore hears of events from
about the moment its creation (or subscription) committed, not of earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from progress.models import OutboxEvent
from progress.webhooks.events import Event
from progress.webhooks.jobs import schedule_delivery
from progress.webhooks.subscriptions import subscribed_types


def outbox_record(events: Iterable[Event]) -> int:
    """Write the events some active endpoint subscribes to; return how many. `events` is only
    iterated when somebody subscribes to something, so a lazy generator costs nothing otherwise."""
    subscribed = subscribed_types()
    if not subscribed:
        return 0
    rows = [
        OutboxEvent(type=event.type, data=event.data, created_at=event.created_at)
        for event in events
        if event.type in subscribed
    ]
    if not rows:
        return 0
    OutboxEvent.objects.bulk_create(rows)
    transaction.on_commit(schedule_delivery, robust=True)
    return len(rows)
