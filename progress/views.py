"""Player pages (home, leaderboard, profile) and the staff dashboard."""

from __future__ import annotations

import re
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from challenges import selectors as challenge_selectors
from progress import charts, jobs, selectors
from skillquest import queue
from skillquest.errors import NotFound, ServiceUnavailable

HOME_CHALLENGES = 3
JOB_ID = re.compile(r"\A[0-9a-f]{32}\Z")
PERIOD_TABS = (("all", "All time"), ("week", "This week"), ("month", "This month"))


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
    highlights = challenge_selectors.challenge_highlights(limit=HOME_CHALLENGES)
    results = challenge_selectors.player_results(user=request.user, challenge_ids=[c.pk for c in highlights])
    context = {
        "cards": [(challenge, results.get(challenge.pk)) for challenge in highlights],
        **selectors.home_page(viewer=request.user),
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


@require_GET
def leaderboard(request):
    period = request.GET.get("period", "all")
    page_param = request.GET.get("page", "1")
    if not page_param.isdigit() or len(page_param) > 9:
        raise Http404("No such page.")
    try:
        page = selectors.leaderboard_page(period=period, page=int(page_param), viewer=request.user)
    except NotFound as error:
        raise Http404(str(error))
    page["tabs"] = PERIOD_TABS
    page["page_links"] = page_links(page["page_number"], page["num_pages"])
    return render(request, "progress/leaderboard.html", page)


@require_GET
def profile(request, username: str):
    try:
        page = selectors.profile_page(username=username, viewer=request.user)
    except NotFound:
        raise Http404("User not found.")
    first = selectors.heatmap_first_day(page["today"])
    page["heatmap"] = charts.heatmap(activity=page["activity"], first=first, today=page["today"])
    return render(request, "progress/profile.html", page)


@require_GET
@staff_required
def staff_dashboard(request):
    job_id = request.GET.get("job", "")
    page = selectors.staff_dashboard(job_id=job_id if JOB_ID.match(job_id) else None)
    stats = page["stats"]
    labels = [row["day"].strftime("%d %b") for row in stats["xp_awarded_per_day"]]
    page["xp_chart"] = charts.bar_chart(
        values=[row["value"] for row in stats["xp_awarded_per_day"]], labels=labels
    )
    page["players_chart"] = charts.bar_chart(
        values=[row["value"] for row in stats["new_users_per_day"]], labels=labels
    )
    return render(request, "progress/staff_dashboard.html", page)


@require_POST
@staff_required
def staff_recalc(request):
    """Start a recalculation in the background; the dashboard then shows the job's status."""
    try:
        job_id = queue.enqueue_tracked(jobs.recalculate_xp)
    except ServiceUnavailable as exc:
        messages.error(request, exc.message)
        return redirect(reverse("progress:staff-dashboard") + "#recalc")
    return redirect(reverse("progress:staff-dashboard") + f"?job={job_id}#recalc")
