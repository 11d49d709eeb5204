"""Player pages (home, profile) and the staff dashboard."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from challenges import selectors as challenge_selectors
from progress import charts, selectors
from skillquest.errors import NotFound

HOME_CHALLENGES = 3


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
        "overview": selectors.player_overview(user=request.user) if request.user.is_authenticated else None,
    }
    return render(request, "progress/home.html", context)


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
    stats = selectors.admin_stats()
    labels = [row["day"].strftime("%d %b") for row in stats["xp_awarded_per_day"]]
    context = {
        "stats": stats,
        "xp_chart": charts.bar_chart(
            values=[row["value"] for row in stats["xp_awarded_per_day"]], labels=labels
        ),
        "players_chart": charts.bar_chart(
            values=[row["value"] for row in stats["new_users_per_day"]], labels=labels
        ),
    }
    return render(request, "progress/staff_dashboard.html", context)
