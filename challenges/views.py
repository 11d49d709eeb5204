"""Challenge pages: the catalogue and one challenge with its start and submit forms."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from challenges import selectors, services
from challenges.forms import AttemptSubmitForm
from challenges.models import Attempt, Challenge
from skillquest.errors import AttemptAlreadySubmitted, InvalidInput, NotFound
from skillquest.replicas import reads_from_replica

PAGE_SIZE = 12
SEARCH_MAX_CHARS = 100


@require_GET
@reads_from_replica()
def challenge_list(request):
    filters = {
        "difficulty": request.GET.get("difficulty", ""),
        "tag": request.GET.get("tag", "")[:60],
        "search": request.GET.get("q", "").strip()[:SEARCH_MAX_CHARS],
    }
    catalogue = selectors.challenge_catalogue(**filters)
    page = Paginator(catalogue, PAGE_SIZE).get_page(request.GET.get("page"))
    results = selectors.player_results(user=request.user, challenge_ids=[c.pk for c in page])
    query = urlencode(
        {
            k: v
            for k, v in (
                ("difficulty", filters["difficulty"]),
                ("tag", filters["tag"]),
                ("q", filters["search"]),
            )
            if v
        }
    )
    context = {
        "page": page,
        "cards": [(challenge, results.get(challenge.pk)) for challenge in page],
        "tags": selectors.tag_list(),
        "difficulties": Challenge.Difficulty.choices,
        "filters": filters,
        "query": query,
    }
    return render(request, "challenges/list.html", context)


def _parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _detail(request, slug: str, *, form: AttemptSubmitForm | None = None, status: int = 200):
    try:
        page = selectors.challenge_page(
            slug=slug, viewer=request.user, result_attempt_id=_parse_uuid(request.GET.get("result"))
        )
    except NotFound:
        raise Http404("Challenge not found.")
    challenge, open_attempt = page["challenge"], page["open_attempt"]
    if form is None and open_attempt is not None:
        form = AttemptSubmitForm(challenge=challenge, initial={"attempt_id": open_attempt.pk})
    return render(request, "challenges/detail.html", {**page, "form": form}, status=status)


@require_GET
@reads_from_replica()
def challenge_detail(request, slug: str):
    return _detail(request, slug)


@login_required
@require_POST
def attempt_start(request, slug: str):
    challenge = Challenge.objects.filter(slug=slug, published=True).only("id").first()
    if challenge is None:
        raise Http404("Challenge not found.")
    services.attempt_start(user=request.user, challenge_id=challenge.pk)
    return redirect(reverse("challenges:detail", args=[slug]) + "#submit")


@login_required
@require_POST
def attempt_submit(request, slug: str):
    challenge = Challenge.objects.filter(slug=slug, published=True).first()
    if challenge is None:
        raise Http404("Challenge not found.")
    form = AttemptSubmitForm(request.POST, challenge=challenge)
    if not form.is_valid():
        return _detail(request, slug, form=form, status=400)
    attempt_id = form.cleaned_data["attempt_id"]
    if not Attempt.objects.filter(pk=attempt_id, user=request.user, challenge=challenge).exists():
        raise Http404("Attempt not found.")
    try:
        attempt = services.attempt_submit(
            user=request.user,
            attempt_id=attempt_id,
            score=form.cleaned_data.get("score"),
            solution=form.cleaned_data.get("solution"),
        )
    except InvalidInput as error:
        form.add_domain_error(error)
        return _detail(request, slug, form=form, status=400)
    except AttemptAlreadySubmitted as error:
        form.add_error(None, error.message)
        return _detail(request, slug, form=form, status=409)
    except NotFound:
        raise Http404("Attempt not found.")
    return redirect(reverse("challenges:detail", args=[slug]) + f"?result={attempt.pk}#result")
