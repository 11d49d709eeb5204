"""Events and graded attempts written straight into the tables, at chosen times, for tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from challenges.models import Attempt, Challenge
from progress.models import Event

_serial = itertools.count(1)


def make_event(
    *challenges: Challenge,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    multiplier: str = "1.50",
    name: str | None = None,
) -> Event:
    """An event as staff would have left it (live by default: started an hour ago, ends in an hour).

    Written with the ORM, not the service: tests start from events in any state, past ones included,
    which the API rightly refuses to create.
    """
    n = next(_serial)
    now = timezone.now()
    event = Event.objects.create(
        name=name or f"Event {n}",
        slug=f"event-{n}",
        starts_at=starts_at or now - timedelta(hours=1),
        ends_at=ends_at or now + timedelta(hours=1),
        xp_multiplier=Decimal(multiplier),
    )
    event.challenges.set(challenges)
    return event


def graded(user, challenge: Challenge, score: int, *, at: datetime | None = None) -> Attempt:
    """An attempt graded at `at` (now by default) and waiting for its award."""
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    return Attempt.objects.create(
        user=user, challenge=challenge, score=score, status=status, submitted_at=at or timezone.now()
    )
