"""Which attempts count for an event. Pure: no I/O.

An attempt counts for an event when its challenge is one of the event's and it was graded
(`submitted_at`) inside the event's half-open window [starts_at, ends_at). A challenge belongs to at
most one event at any instant (progress.events.services refuses an overlap), so an attempt counts for
at most one event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q


@dataclass(frozen=True)
class EventTerms:
    """What the award job (and the freeze) need of an event."""

    event_id: uuid.UUID
    slug: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    challenge_ids: frozenset[uuid.UUID]

    def counts(self, *, challenge_id: uuid.UUID, submitted_at: datetime | None) -> bool:
        return (
            challenge_id in self.challenge_ids
            and submitted_at is not None
            and self.starts_at <= submitted_at < self.ends_at
        )

    def attempts(self) -> Q:
        """`counts` as a filter on attempts (the freeze looks for ones still waiting for their award)."""
        return Q(
            challenge_id__in=sorted(self.challenge_ids),
            submitted_at__gte=self.starts_at,
            submitted_at__lt=self.ends_at,
        )


def event_for(
    terms: Iterable[EventTerms], *, challenge_id: uuid.UUID, submitted_at: datetime | None
) -> EventTerms | None:
    """The event an attempt counts for, if any."""
    return next(
        (event for event in terms if event.counts(challenge_id=challenge_id, submitted_at=submitted_at)), None
    )
