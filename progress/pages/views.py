"""Player pages (home, leaderboard, profile) and the staff dashboard.

Each view combines the selectors of the rooms it shows (boards, players, badges, staff) and the
charts; none of them reads a table itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from challenges import selectors as challenge_selectors
from challenges.selectors import tag_exists
from progress import jobs
from progress.badges.selectors import latest_badges
from progress.boards import selectors as boards
from progress.boards.ranks import Entry
from progress.boards.windows import PERIODS
from progress.ledger.selectors import attempt_explanations, xp_by_day
from progress.notifications.selectors import inbox
from progress.notifications.services import notifications_mark_read
from progress.pages import charts
from progress.players.selectors import activity_by_day, heatmap_first_day, player_overview, user_progress
from progress.quests.selectors import quests_today
from progress.social import selectors as social_selectors
from progress.social import services as social_services
from progress.staff.selectors import admin_stats
from progress.streaks import user_zone
from skillquest import queue
from skillquest.errors import InvalidInput, NotFound, ServiceUnavailable
from skillquest.http_cache import shareable
from skillquest.replicas import reads_from_replica

HOME_CHALLENGES = 3
HOME_BOARD_SIZE = 5
LEADERBOARD_PER_PAGE = 20
NOTIFICATIONS_PER_PAGE = 20
STAFF_BOARD_SIZE = 10
XP_CHART_DAYS = 90
JOB_ID = re.compile(r"\A[0-9a-f]{32}\Z")
PERIOD_TABS = (("all", "All time"), ("week", "This week"), ("month", "This month"))
AROUND_PAGE_K = 5  # "Around me": five players above and five below


def staff_required(view):
    """Anonymous visitors are sent to log in; signed-in players get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
def home(request):
    """Challenge highlights, the all-time top 5 and, signed in, the level bar, today's quests and the
    newest badges."""
    highlights = challenge_selectors.challenge_highlights(limit=HOME_CHALLENGES)
    results = challenge_selectors.player_results(user=request.user, challenge_ids=[c.pk for c in highlights])
    signed_in = request.user.is_authenticated
    context = {
        "cards": [(challenge, results.get(challenge.pk)) for challenge in highlights],
        "top": boards.top("all", limit=HOME_BOARD_SIZE).results,
        "overview": player_overview(user=request.user) if signed_in else None,
        "latest_badges": latest_badges(user_id=request.user.pk) if signed_in else [],
        "quests": quests_today(user=request.user) if signed_in else [],
    }
    return render(request, "progress/home.html", context)


def page_links(current: int, last: int, *, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and a few around the current one; None marks a gap."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    links: list[int | None] = []
    for number in shown:
        if links and number - links[-1] > 1:
            links.append(None)
        links.append(number)
    return links


@dataclass(frozen=True)
class BoardQuery:
    """Which board the leaderboard page shows: its period, whose players, which tag, top or around me."""

    period: str = "all"
    board: str = "global"
    tag: str = ""
    around: bool = False
    page: int = 1

    def link(self, **changes: Any) -> str:
        """This page's address with `changes`; a new board starts at its first page."""
        query = replace(self, **{"page": 1, **changes})
        params = {
            "period": query.period,
            "board": query.board if query.board != "global" else "",
            "tag": query.tag,
            "view": "around" if query.around else "",
            "page": str(query.page) if query.page > 1 else "",
        }
        return "?" + urlencode({key: value for key, value in params.items() if value})

    @property
    def personal(self) -> bool:
        return self.board == "friends" or self.around


def leaderboard_context(
    *, query: BoardQuery, viewer: User | None, per_page: int = LEADERBOARD_PER_PAGE
) -> dict[str, Any]:
    """One page of a board, and the signed-in viewer's own row when it is not on that page.

    A fixed number of queries whatever `per_page` is: the board's page (see `boards.top`) and,
    for a viewer off the page, their standing (Redis only, or one aggregate on the SQL backend).
    """
    if query.period not in PERIODS or query.board not in boards.BOARDS:
        raise NotFound("No such leaderboard.", code="leaderboard_not_found")
    if query.page < 1:
        raise NotFound("No such page.", code="page_not_found")
    if query.tag and not tag_exists(slug=query.tag):
        raise NotFound("No such tag.", code="tag_not_found")
    player = viewer if viewer is not None and viewer.is_authenticated else None
    if query.personal and player is None:
        raise PermissionDenied("Sign in to see your friends board or the players around you.")
    tag = query.tag or None
    offset = (query.page - 1) * per_page
    if query.board == "friends" and player is not None:
        around_k = AROUND_PAGE_K if query.around else None
        board = boards.friends(
            player, query.period, tag=tag, limit=per_page, offset=offset, around_k=around_k
        )
    elif query.around and player is not None:
        board = boards.around(player, query.period, tag=tag, k=AROUND_PAGE_K)
    else:
        board = boards.top(query.period, tag=tag, limit=per_page, offset=offset)
    num_pages = 1 if query.around else max(1, -(-board.count // per_page))
    if query.page > num_pages:
        raise NotFound("No such page.", code="page_not_found")
    viewer_on_page = player is not None and any(entry.user_id == player.pk for entry in board.results)
    own_entry = None
    if player is not None and not viewer_on_page:
        # A friends board is small: the viewer finds their row on it, or with "Around me".
        standing = boards.own_standing(player, query.period, tag=tag) if query.board == "global" else None
        if standing is not None:
            own_entry = Entry(standing.rank, player.pk, player.username, standing.xp, player.level)
    return {
        "query": query,
        "period": query.period,
        "board": board,
        "page_number": query.page,
        "num_pages": num_pages,
        "viewer_id": player.pk if player is not None else None,
        "viewer_hidden": player is not None and not player.leaderboard_visible,
        "viewer_on_page": viewer_on_page,
        "own_entry": own_entry,
    }


Tab = tuple[str, str, bool]  # label, link, current


def leaderboard_links(query: BoardQuery, *, signed_in: bool, num_pages: int) -> dict[str, Any]:
    """The page's tabs (period, whose board, top or around me, tag) and page links, each keeping the
    rest of the query; friends and around me only for a signed-in player."""
    boards_tabs: list[Tab] = [("Everyone", query.link(board="global"), query.board == "global")]
    view_tabs: list[Tab] = []
    if signed_in:
        boards_tabs.append(("Friends", query.link(board="friends"), query.board == "friends"))
        view_tabs = [
            ("Top", query.link(around=False), not query.around),
            ("Around me", query.link(around=True), query.around),
        ]
    tags = challenge_selectors.tag_list()
    return {
        "period_tabs": [(label, query.link(period=key), key == query.period) for key, label in PERIOD_TABS],
        "board_tabs": boards_tabs,
        "view_tabs": view_tabs,
        "tag_tabs": [
            ("All challenges", query.link(tag=""), not query.tag),
            *((tag.name, query.link(tag=tag.slug), tag.slug == query.tag) for tag in tags),
        ],
        "page_links": [
            (number, query.link(page=number) if number else "")
            for number in page_links(query.page, num_pages)
        ],
        "previous_link": query.link(page=query.page - 1) if query.page > 1 else "",
        "next_link": query.link(page=query.page + 1) if query.page < num_pages else "",
    }


@require_GET
@reads_from_replica()
def leaderboard(request):
    page_param = request.GET.get("page", "1")
    if not page_param.isdigit() or len(page_param) > 9:
        raise Http404("No such page.")
    query = BoardQuery(
        period=request.GET.get("period", "all"),
        board=request.GET.get("board", "global") or "global",
        tag=request.GET.get("tag", ""),
        around=request.GET.get("view", "") == "around",
        page=int(page_param),
    )
    if query.personal and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        page = leaderboard_context(query=query, viewer=request.user)
    except NotFound as error:
        raise Http404(str(error))
    signed_in = request.user.is_authenticated
    page.update(leaderboard_links(query, signed_in=signed_in, num_pages=page["num_pages"]))
    # The same for every anonymous visitor: no CSRF token (the log-out form is for the signed-in) and
    # no per-request nonce (the CSP allows no inline script at all), so one copy serves them all.
    return shareable(request, render(request, "progress/leaderboard.html", page))


def own_profile(request, *, username: str) -> bool:
    return request.user.is_authenticated and request.user.username.lower() == username.lower()


@require_GET
@reads_from_replica(skip=own_profile)  # a player's own profile is read from the primary, always
def profile(request, username: str):
    """A fixed number of queries whatever the history's size: rank, streaks, recent attempts and
    badges (earned, and locked with their progress) are the progress endpoint's own figures; a
    player's own profile also shows their quests of today."""
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise Http404("User not found.")
    today = timezone.now().astimezone(user_zone(user.timezone or "UTC")).date()
    progress = user_progress(user_id=user.pk, viewer_id=request.user.pk)
    first = heatmap_first_day(today)
    activity = activity_by_day(user=user, first=first, today=today)
    chart_first = today - timedelta(days=XP_CHART_DAYS - 1)
    xp_before, xp_changes = xp_by_day(
        user_id=user.pk, first=chart_first, zone=user_zone(user.timezone or "UTC")
    )
    explanations = attempt_explanations(attempt_ids=[attempt.pk for attempt in progress["recent_attempts"]])
    for attempt in progress["recent_attempts"]:
        attempt.explanation = explanations.get(attempt.pk)
    is_own = request.user.is_authenticated and request.user.pk == user.pk
    context = {
        "profile_user": user,
        "is_own": is_own,
        "follow_counts": social_selectors.follow_counts(user_id=user.pk),
        "viewer_follows": request.user.is_authenticated
        and not is_own
        and social_selectors.is_following(follower=request.user, followed_id=user.pk),
        "quests": quests_today(user=user) if is_own else [],
        "overview": player_overview(user=user),
        "rank": progress["rank"],
        "current_streak": progress["current_streak"],
        "longest_streak": progress["longest_streak"],
        "recent_attempts": progress["recent_attempts"],
        "badges": progress["badges"],
        "badge_progress": progress["badge_progress"],
        "activity": activity,
        "today": today,
        "heatmap": charts.heatmap(activity=activity, first=first, today=today),
        "xp_chart": charts.xp_over_time(before=xp_before, changes=xp_changes, first=chart_first, today=today),
    }
    return render(request, "progress/profile.html", context)


@require_POST
@login_required
def follow(request, username: str):
    """The profile's Follow button: follow, then back to the profile (a refusal said on it)."""
    followed = User.objects.filter(username__iexact=username, is_active=True).first()
    if followed is None:
        raise Http404("User not found.")
    try:
        social_services.follow_create(follower=request.user, followed_id=followed.pk)
    except InvalidInput as error:
        messages.error(request, error.message)
    return redirect("progress:profile", followed.username)


@require_POST
@login_required
def unfollow(request, username: str):
    followed = User.objects.filter(username__iexact=username).first()
    if followed is None:
        raise Http404("User not found.")
    social_services.follow_delete(follower=request.user, followed_id=followed.pk)
    return redirect("progress:profile", followed.username)


@require_GET
@staff_required
@reads_from_replica()
def staff_dashboard(request):
    """Admin stats with their charts, the all-time top 10 and, if asked for, a tracked job's status."""
    job_id = request.GET.get("job", "")
    job_id = job_id if JOB_ID.match(job_id) else None
    stats = admin_stats()
    labels = [row["day"].strftime("%d %b") for row in stats["xp_awarded_per_day"]]
    context = {
        "stats": stats,
        "top": boards.top("all", limit=STAFF_BOARD_SIZE).results,
        "job_id": job_id,
        "job": queue.job_status(job_id) if job_id else None,
        "xp_chart": charts.bar_chart(
            values=[row["value"] for row in stats["xp_awarded_per_day"]], labels=labels
        ),
        "players_chart": charts.bar_chart(
            values=[row["value"] for row in stats["new_users_per_day"]], labels=labels
        ),
    }
    return render(request, "progress/staff_dashboard.html", context)


@require_POST
@staff_required
def staff_recalc(request):
    """Start a recalculation (a preview if `dry_run`) in the background; the dashboard then shows the
    job's status and its diff."""
    dry_run = request.POST.get("dry_run") == "1"
    try:
        job_id = queue.enqueue_tracked(jobs.recalculate_xp, dry_run, str(request.user.pk))
    except ServiceUnavailable as exc:
        messages.error(request, exc.message)
        return redirect(reverse("progress:staff-dashboard") + "#recalc")
    return redirect(reverse("progress:staff-dashboard") + f"?job={job_id}#recalc")


@login_required
@require_GET
def notifications(request):
    """The bell's page: the player's notifications, newest first, unread ones marked."""
    page = Paginator(inbox(user_id=request.user.pk), NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "progress/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request):
    marked = notifications_mark_read(user_id=request.user.pk)
    if marked:
        messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked as read.")
    return redirect("progress:notifications")
