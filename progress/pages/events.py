"""Event pages: /events/ (live, upcoming and recently ended events) and /events/<slug>/ (the window in
the visitor's zone, the time left, the challenges and the board).

Each view combines the events selectors; none of them reads a table itself.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from progress.events import selectors
from progress.models import Event
from progress.pages.views import page_links
from progress.streaks import user_zone
from skillquest.errors import NotFound

ENDED_LISTED = 10
EVENT_BOARD_PER_PAGE = 20


def visitor_zone(user) -> tzinfo:
    """A signed-in player's own zone; UTC for anyone else (the page says which)."""
    return user_zone(user.timezone) if user.is_authenticated else UTC


@require_GET
def events(request):
    now = timezone.now()
    context = {
        "live": list(selectors.event_list(state=Event.State.LIVE, viewer=request.user, now=now)),
        "upcoming": list(selectors.event_list(state=Event.State.UPCOMING, viewer=request.user, now=now)),
        "ended": list(
            selectors.event_list(state=Event.State.ENDED, viewer=request.user, now=now)[:ENDED_LISTED]
        ),
        "now": now,
        "zone": visitor_zone(request.user),
    }
    return render(request, "progress/events.html", context)


@require_GET
def event_detail(request, slug: str):
    page_param = request.GET.get("page", "1")
    if not page_param.isdigit() or len(page_param) > 9 or int(page_param) < 1:
        raise Http404("No such page.")
    page = int(page_param)
    try:
        event = selectors.event_by_slug(slug=slug, viewer=request.user)
    except NotFound as error:
        raise Http404(str(error))
    board = selectors.event_board(
        event=event, limit=EVENT_BOARD_PER_PAGE, offset=(page - 1) * EVENT_BOARD_PER_PAGE
    )
    num_pages = max(1, -(-board.count // EVENT_BOARD_PER_PAGE))
    if page > num_pages:
        raise Http404("No such page.")
    viewer = request.user if request.user.is_authenticated else None
    on_page = viewer is not None and any(entry.user_id == viewer.pk for entry in board.results)
    now = timezone.now()
    context = {
        "event": event,
        "state": event.state_at(now),
        "now": now,
        "zone": visitor_zone(request.user),
        "board": board,
        "viewer_id": viewer.pk if viewer else None,
        "own_entry": selectors.event_standing(event=event, user=viewer) if viewer and not on_page else None,
        "page_number": page,
        "num_pages": num_pages,
        "page_links": page_links(page, num_pages),
    }
    return render(request, "progress/event_detail.html", context)
