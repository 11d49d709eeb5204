"""The freeze job: it takes an event's id, re-reads the event and freezes it if it is due. Running it
twice, early, late or in parallel is harmless (`progress.events.freezing.event_freeze`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from progress.events.freezing import AWARDS_PENDING, event_freeze
from skillquest.queue import enqueue, enqueue_at

# While another worker is still awarding an attempt that counts, the freeze waits this long and tries again.
FREEZE_RETRY = timedelta(seconds=2)


def freeze_event(event_id: str) -> dict[str, Any]:
    outcome = event_freeze(event_id=uuid.UUID(str(event_id)))
    if outcome.status == AWARDS_PENDING:
        enqueue_at(timezone.now() + FREEZE_RETRY, freeze_event, str(event_id))
    return outcome.as_dict()


def freeze_delay() -> timedelta:
    return timedelta(seconds=settings.EVENT_FREEZE_DELAY_SECONDS)


def schedule_event_freeze(event_id: uuid.UUID, ends_at: datetime) -> bool:
    """Have the worker's scheduler freeze the event `EVENT_FREEZE_DELAY_SECONDS` after `ends_at`.

    The job id names the event and its end, so scheduling the same end twice keeps one job, and a job
    left from an end that staff have since moved finds the event not ended (or already frozen) and
    does nothing. False if it could not be scheduled: the sweep (`award_pending`) will find the event.
    """
    job_id = f"event-freeze-{event_id}-{int(ends_at.timestamp())}"
    return enqueue_at(ends_at + freeze_delay(), freeze_event, str(event_id), job_id=job_id)


def schedule_event_freeze_now(event_id: uuid.UUID) -> bool:
    """The sweep's way: freeze an event whose scheduled job was lost (Redis flushed, or down when the
    event was saved) as soon as a worker is free."""
    return enqueue(freeze_event, str(event_id))
