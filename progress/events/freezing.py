"""Freezing an event's final standings: the snapshot its board answers from once it has ended.

The freeze is a service (it writes) kept apart from the staff edits in `services` because the freeze
job runs it and those edits schedule that job: `services` -> `jobs` -> `freezing`, no cycle.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from challenges.models import Attempt
from progress.awards.services import AWARD_BATCH_SIZE, awards_process
from progress.boards.ranks import ranked
from progress.boards.services import record_awards
from progress.events.selectors import live_board, terms_of
from progress.models import Event, EventStanding
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.events")

FROZEN = "frozen"
ALREADY_FROZEN = "already_frozen"
NOT_ENDED = "not_ended"
AWARDS_PENDING = "awards_pending"
NO_SUCH_EVENT = "no_such_event"
STANDINGS_CHUNK = 5000


@dataclass(frozen=True)
class FreezeOutcome:
    status: str  # one of the constants above
    standings: int = 0  # rows written (FROZEN only)

    def as_dict(self) -> dict:
        return asdict(self)


def event_freeze(*, event_id: uuid.UUID, now: datetime | None = None) -> FreezeOutcome:
    """Write the event's final standings once it has ended; a no-op if it is already frozen.

    First every attempt that counts for it and still waits for its award is awarded here (the board is
    what the awards paid, so none may be missing); if some are being awarded by another worker at
    this moment the outcome is AWARDS_PENDING and the caller tries again shortly. Two freezers racing
    write one snapshot: the second waits for the event's row lock and then finds it frozen.
    """
    now = now or timezone.now()
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return FreezeOutcome(NO_SUCH_EVENT)
    if event.frozen_at is not None:
        return FreezeOutcome(ALREADY_FROZEN)
    if now < event.ends_at:
        return FreezeOutcome(NOT_ENDED)
    waiting = Attempt.objects.award_pending().filter(terms_of(event).attempts())
    pending = list(waiting.values_list("pk", flat=True))
    for start in range(0, len(pending), AWARD_BATCH_SIZE):
        record_awards(awards_process(attempt_ids=pending[start : start + AWARD_BATCH_SIZE]))
    if pending and waiting.exists():
        return FreezeOutcome(AWARDS_PENDING)
    return _snapshot(event_id=event_id, now=now)


@transaction.atomic
def _snapshot(*, event_id: uuid.UUID, now: datetime) -> FreezeOutcome:
    event = Event.objects.select_for_update().get(pk=event_id)
    if event.frozen_at is not None:
        return FreezeOutcome(ALREADY_FROZEN)
    if now < event.ends_at:  # staff moved the end while this freezer waited for the lock
        return FreezeOutcome(NOT_ENDED)
    rows = list(live_board(event.pk).values_list("id", "xp", "level"))
    levels = {pk: level for pk, _, level in rows}
    standings = [
        EventStanding(
            event=event, user_id=user_id, rank=rank, position=position, xp=xp, level=levels[user_id]
        )
        for position, (rank, user_id, xp) in enumerate(
            ranked([(pk, xp) for pk, xp, _ in rows], first_rank=1, offset=0), start=1
        )
    ]
    EventStanding.objects.bulk_create(standings, batch_size=STANDINGS_CHUNK)
    event.frozen_at = now
    event.save(update_fields=["frozen_at", "updated_at"])
    log_event(logger, "event_frozen", event_id=str(event.pk), slug=event.slug, standings=len(standings))
    return FreezeOutcome(FROZEN, standings=len(standings))
