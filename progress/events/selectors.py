"""Reading events: the list by state, one event, the terms a batch of awards applies, an event's board."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from challenges.models import Challenge
from progress.boards.backends import username_order
from progress.boards.ranks import Entry, ranked
from progress.events.rules import EventTerms
from progress.models import Event, EventStanding
from skillquest.errors import NotFound

Viewer = User | AnonymousUser | None
STATES = tuple(Event.State.values)


def _is_staff(viewer: Viewer) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_staff)


def _with_challenges(events: QuerySet[Event], viewer: Viewer) -> QuerySet[Event]:
    """Each event's challenges, in title order: every one for staff, the published ones for others
    (a draft prepared for an event stays unseen until it is published)."""
    challenges = Challenge.objects.only("id", "title", "slug", "difficulty", "xp", "published").order_by(
        "title"
    )
    if not _is_staff(viewer):
        challenges = challenges.filter(published=True)
    return events.prefetch_related(Prefetch("challenges", queryset=challenges))


def event_list(
    *, state: str | None = None, viewer: Viewer = None, now: datetime | None = None
) -> QuerySet[Event]:
    """Events in one state (all without `state`): live and upcoming ones soonest first, ended ones
    most recent first; all together, newest start first."""
    now = now or timezone.now()
    events = Event.objects.all()
    if state == Event.State.UPCOMING:
        events = events.filter(starts_at__gt=now).order_by("starts_at", "name")
    elif state == Event.State.LIVE:
        events = events.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at", "name")
    elif state == Event.State.ENDED:
        events = events.filter(ends_at__lte=now).order_by("-ends_at", "name")
    else:
        events = events.order_by("-starts_at", "name")
    return _with_challenges(events, viewer)


def event_by_slug(*, slug: str, viewer: Viewer = None) -> Event:
    """One event by its slug (every event is public), or NotFound."""
    event = _with_challenges(Event.objects.filter(slug=slug), viewer).first() if "\x00" not in slug else None
    if event is None:
        raise NotFound("Event not found.", code="event_not_found")
    return event


def event_terms(
    *, challenge_ids: Iterable[uuid.UUID], earliest: datetime, latest: datetime
) -> list[EventTerms]:
    """The terms of every event whose window meets [earliest, latest] and that holds one of the
    challenges: what the award job needs to decide, for a whole batch, which attempts count. One query;
    each event's `challenge_ids` holds only the asked ones, which is all the batch can match."""
    through = Event.challenges.through.objects.filter(
        challenge_id__in=set(challenge_ids), event__starts_at__lte=latest, event__ends_at__gt=earliest
    ).values_list(
        "event_id",
        "event__slug",
        "event__xp_multiplier",
        "event__starts_at",
        "event__ends_at",
        "challenge_id",
    )
    found: dict[uuid.UUID, tuple[str, Decimal, datetime, datetime]] = {}
    challenges: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for event_id, slug, multiplier, starts_at, ends_at, challenge_id in through:
        found[event_id] = (slug, multiplier, starts_at, ends_at)
        challenges[event_id].add(challenge_id)
    return [
        EventTerms(event_id, slug, multiplier, starts_at, ends_at, frozenset(challenges[event_id]))
        for event_id, (slug, multiplier, starts_at, ends_at) in found.items()
    ]


def terms_of(event: Event) -> EventTerms:
    """An event's terms with every one of its challenges (staff's view: drafts included)."""
    return EventTerms(
        event_id=event.pk,
        slug=event.slug,
        multiplier=event.xp_multiplier,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        challenge_ids=frozenset(
            Event.challenges.through.objects.filter(event_id=event.pk).values_list("challenge_id", flat=True)
        ),
    )


def events_due_for_freeze(*, now: datetime | None = None, delay: timedelta = timedelta(0)) -> list[uuid.UUID]:
    """Ended events whose standings are not frozen yet, `delay` or more after their end."""
    now = now or timezone.now()
    return list(
        Event.objects.filter(ends_at__lte=now - delay, frozen_at__isnull=True)
        .order_by("ends_at")
        .values_list("pk", flat=True)
    )


# --- The board --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventBoard:
    event: str  # the slug
    final: bool  # answered from the frozen snapshot
    count: int  # players on the whole board
    offset: int
    limit: int
    results: list[Entry]


def live_board(event_id: uuid.UUID) -> QuerySet:
    """Players shown on the event's board, annotated `xp` (what the event's entries paid them: their
    attempts' XP and bonuses), most first, ties by username. Active players who have not opted out of
    public boards only. The entries were tagged with the event by the award job when it paid them, so
    nothing later — a grant, a recalculation, an edited challenge — adds to or takes from this sum."""
    return (
        User.objects.filter(is_active=True, leaderboard_visible=True, xp_entries__event_id=event_id)
        .annotate(xp=Sum("xp_entries__amount"))
        .filter(xp__gt=0)
        .order_by("-xp", username_order())
    )


def _final_board(event_id: uuid.UUID) -> QuerySet[EventStanding]:
    """The frozen rows that are still shown: a player who has since opted out of public boards (or
    whose account was erased) leaves the board, and everyone else keeps their frozen rank."""
    return EventStanding.objects.filter(
        event_id=event_id, user__is_active=True, user__leaderboard_visible=True
    ).order_by("position")


def event_board(*, event: Event, limit: int = 10, offset: int = 0) -> EventBoard:
    """A page of the event's board: the snapshot once frozen (`final`), the live sums until then.

    Three queries live (the page, the count, the rank of the page's first row), two final.
    """
    if event.frozen_at is not None:
        final = _final_board(event.pk)
        rows = list(
            final.values_list("rank", "user_id", "user__username", "xp", "level")[offset : offset + limit]
        )
        results = [Entry(rank, user_id, username, xp, level) for rank, user_id, username, xp, level in rows]
        return EventBoard(event.slug, True, final.count(), offset, limit, results)
    board = live_board(event.pk)
    page = list(board.values_list("id", "username", "xp", "level")[offset : offset + limit])
    results = []
    if page:
        first_rank = board.filter(xp__gt=page[0][2]).count() + 1
        names = {pk: (username, level) for pk, username, _, level in page}
        for rank, user_id, xp in ranked(
            [(pk, xp) for pk, _, xp, _ in page], first_rank=first_rank, offset=offset
        ):
            username, level = names[user_id]
            results.append(Entry(rank, user_id, username, xp, level))
    return EventBoard(event.slug, False, board.count(), offset, limit, results)


def event_standing(*, event: Event, user: User) -> Entry | None:
    """The player's own row on the event's board, or None if they are not on it (no XP in the event,
    opted out, or not in the frozen standings)."""
    if event.frozen_at is not None:
        row = _final_board(event.pk).filter(user_id=user.pk).values_list("rank", "xp", "level").first()
        return Entry(row[0], user.pk, user.username, row[1], row[2]) if row else None
    board = live_board(event.pk)
    xp = board.filter(pk=user.pk).values_list("xp", flat=True).first()
    if xp is None:
        return None
    return Entry(board.filter(xp__gt=xp).count() + 1, user.pk, user.username, xp, user.level)
