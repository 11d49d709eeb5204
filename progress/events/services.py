"""Staff edits of events, under the rules that keep an event's result honest.

- A new event, or a new start, may not lie in the past: an attempt graded in the window must be
  awarded while the event exists, or it could neither count nor earn its bonus.
- A challenge belongs to at most one event at any instant, so an attempt counts for one event at most.
- Once an event has started, its start, challenges and multiplier are fixed (players are playing by
  them); its name, description, slug and end may still change, the end only to a later instant than now.
- Once it has ended, nothing changes (409 `event_ended`): its standings are, or are about to be, frozen.
- Only an event that has not started may be deleted (409 `event_started`): a started one has paid
  bonuses and has a board.

Every write is audited, and a new or moved end schedules the freeze (after commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from challenges.models import Challenge
from challenges.services import unique_slug
from progress.events import jobs
from progress.models import Event
from skillquest.audit.services import audit_changes, audit_created, audit_deleted
from skillquest.errors import EventEnded, EventStarted, InvalidInput

EVENT_MAX_LENGTH = timedelta(days=366)
EVENT_MAX_LEAD = timedelta(days=2 * 365)  # how far ahead an event may start
MAX_CHALLENGES = 100
# What the audit log records of an event (skillquest.audit); the admin's saves go through here too.
AUDITED_FIELDS = ("name", "slug", "description", "starts_at", "ends_at", "xp_multiplier", "challenges")
FIXED_ONCE_STARTED = ("starts_at", "challenge_ids", "xp_multiplier")


def event_check(
    *,
    starts_at: datetime,
    ends_at: datetime,
    challenge_ids: Collection[uuid.UUID],
    now: datetime,
    event_id: uuid.UUID | None = None,
) -> list[Challenge]:
    """The challenges of an event with this window, if the window and the challenges are acceptable;
    else InvalidInput naming the field. Call it inside the writing transaction: it locks the challenges
    (FOR NO KEY UPDATE, which starts and submits do not wait for), so that two staff writes cannot both
    give one challenge to overlapping events."""
    if ends_at <= starts_at:
        raise InvalidInput("Must be after starts_at.", field="ends_at")
    if ends_at - starts_at > EVENT_MAX_LENGTH:
        raise InvalidInput(f"An event lasts at most {EVENT_MAX_LENGTH.days} days.", field="ends_at")
    if starts_at > now + EVENT_MAX_LEAD:
        raise InvalidInput(f"An event starts within {EVENT_MAX_LEAD.days} days from now.", field="starts_at")
    wanted = set(challenge_ids)
    if not wanted:
        raise InvalidInput("An event needs at least one challenge.", field="challenge_ids")
    if len(wanted) > MAX_CHALLENGES:
        raise InvalidInput(f"At most {MAX_CHALLENGES} challenges.", field="challenge_ids")
    challenges = list(Challenge.objects.select_for_update(no_key=True).filter(pk__in=wanted).order_by("pk"))
    unknown = wanted - {challenge.pk for challenge in challenges}
    if unknown:
        raise InvalidInput(
            f"Unknown challenge id(s): {', '.join(sorted(map(str, unknown)))}.", field="challenge_ids"
        )
    overlapping = Event.challenges.through.objects.filter(
        challenge_id__in=wanted, event__starts_at__lt=ends_at, event__ends_at__gt=starts_at
    )
    if event_id is not None:
        overlapping = overlapping.exclude(event_id=event_id)
    clash = overlapping.values_list("challenge__title", "event__name").order_by("challenge__title").first()
    if clash:
        raise InvalidInput(
            f"'{clash[0]}' is already in the event '{clash[1]}' at an overlapping time.",
            field="challenge_ids",
        )
    return challenges


def _not_past(value: datetime, now: datetime, field: str) -> None:
    if value < now:
        raise InvalidInput("Must not be in the past.", field=field)


def _schedule_freeze(event: Event) -> None:
    transaction.on_commit(partial(jobs.schedule_event_freeze, event.pk, event.ends_at), robust=True)


def event_validate(
    *, event: Event | None, fields: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[Challenge]]:
    """What `fields` change of `event` (everything, for a new event: `event` None) and the event's
    challenges once they apply, if the rules above allow it; else InvalidInput (400) or EventStarted /
    EventEnded (409). Inside the writing transaction (see `event_check`); the admin's form asks it too.

    `fields` are any of name, slug, description, starts_at, ends_at, xp_multiplier, challenge_ids (a
    new event needs the window and the challenges). A field given with its current value is no change,
    so a PUT that repeats a fixed field is accepted.
    """
    if event is None:
        _not_past(fields["starts_at"], now, "starts_at")
        challenges = event_check(
            starts_at=fields["starts_at"],
            ends_at=fields["ends_at"],
            challenge_ids=fields["challenge_ids"],
            now=now,
        )
        return dict(fields), challenges
    current_ids = set(
        Event.challenges.through.objects.filter(event_id=event.pk).values_list("challenge_id", flat=True)
    )
    changed = {
        name: value
        for name, value in fields.items()
        if (set(value) != current_ids if name == "challenge_ids" else value != getattr(event, name))
    }
    if not changed:
        return {}, []
    state = event.state_at(now)
    if state == Event.State.ENDED or event.frozen_at is not None:
        raise EventEnded()
    fixed = sorted(name for name in changed if name in FIXED_ONCE_STARTED)
    if state == Event.State.LIVE and fixed:
        raise EventStarted(f"This event has started: {', '.join(fixed)} can no longer change.")
    for name in ("starts_at", "ends_at"):
        if name in changed:
            _not_past(changed[name], now, name)
    challenges = event_check(
        starts_at=changed.get("starts_at", event.starts_at),
        ends_at=changed.get("ends_at", event.ends_at),
        challenge_ids=changed.get("challenge_ids", current_ids),
        now=now,
        event_id=event.pk,
    )
    return changed, challenges


@transaction.atomic
def event_create(*, actor: User | None, **fields: Any) -> Event:
    """A new event from name, starts_at, ends_at, challenge_ids and optionally slug (made from the name
    when blank), description and xp_multiplier (1.00)."""
    fields, challenges = event_validate(event=None, fields=fields, now=timezone.now())
    fields.pop("challenge_ids")
    if not fields.get("slug"):
        fields["slug"] = unique_slug(Event, fields["name"], max_length=120)
    event = Event.objects.create(**fields)
    event.challenges.set(challenges)
    audit_created(actor=actor, action="event.create", instance=event, fields=AUDITED_FIELDS)
    _schedule_freeze(event)
    return event


@transaction.atomic
def event_update(*, event: Event, actor: User | None, **fields: Any) -> Event:
    """Change an event under the rules above (`event_validate`); a moved end reschedules the freeze."""
    locked = Event.objects.select_for_update().get(pk=event.pk)
    changed, challenges = event_validate(event=locked, fields=fields, now=timezone.now())
    if not changed:
        return locked
    if "slug" in changed and not changed["slug"]:
        changed["slug"] = unique_slug(
            Event, changed.get("name", locked.name), exclude_pk=locked.pk, max_length=120
        )
    with audit_changes(actor=actor, action="event.update", instance=locked, fields=AUDITED_FIELDS):
        for name, value in changed.items():
            if name != "challenge_ids":
                setattr(locked, name, value)
        locked.save()
        if "challenge_ids" in changed:
            locked.challenges.set(challenges)
    if "ends_at" in changed:
        _schedule_freeze(locked)
    return locked


@transaction.atomic
def event_delete(*, event: Event, actor: User | None) -> None:
    """Delete an event that has not started; a started one has paid bonuses and has a board (409)."""
    locked = Event.objects.select_for_update().get(pk=event.pk)
    if locked.state_at(timezone.now()) != Event.State.UPCOMING:
        raise EventStarted("This event has started: its bonuses and board are history, it cannot be deleted.")
    audit_deleted(actor=actor, action="event.delete", instance=locked, fields=AUDITED_FIELDS)
    locked.delete()
