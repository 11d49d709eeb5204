"""The public Open Badges URLs (`/ob/`): read-only, no sign-in, JSON errors `{detail, code}`.

Plain Django views rather than API endpoints: these documents are defined by the Open Badges
specification, and their URLs are the badges' identities, so they stay out of the versioned API.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse

from progress.models import Badge, UserBadge
from progress.openbadges import documents, images, selectors
from skillquest.api import json_error
from skillquest.errors import DomainError

JSON_LD = "application/ld+json"
BADGE_IMAGE_CACHE_SECONDS = 24 * 3600
# Badge images change only with the badge's name; assertions may be revoked at any moment.
IMAGE_MAX_AGE = "public, max-age=3600"
ASSERTION_MAX_AGE = "no-cache"


def public_document(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD only; domain errors as JSON; readable from any origin (backpacks, validators)."""

    @wraps(view)
    def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            response: HttpResponse = json_error(
                f'Method "{request.method}" not allowed.', "method_not_allowed", 405
            )
            response["Allow"] = "GET, HEAD"
        else:
            try:
                response = view(request, **kwargs)
            except DomainError as exc:
                response = json_error(exc.message, exc.code, exc.status)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return wrapped


def _json_ld(document: dict[str, Any], *, status: int = 200) -> JsonResponse:
    response = JsonResponse(document, status=status, content_type=JSON_LD, json_dumps_params={"indent": 2})
    response["Cache-Control"] = ASSERTION_MAX_AGE
    return response


def _png(body: bytes, *, cache_control: str) -> HttpResponse:
    response = HttpResponse(body, content_type="image/png")
    response["Cache-Control"] = cache_control
    return response


def _badge_png(badge: Badge) -> bytes:
    """Drawn once a day at most per badge name (drawing takes milliseconds; the URLs are public)."""
    key = f"ob:badge-png:{badge.pk}:{hashlib.sha256(badge.name.encode()).hexdigest()[:16]}"
    image = cache.get(key)
    if not isinstance(image, bytes):
        image = images.badge_png(badge_id=badge.pk, name=badge.name)
        cache.set(key, image, BADGE_IMAGE_CACHE_SECONDS)
    return image


def _revoked(award: UserBadge) -> JsonResponse:
    return _json_ld(documents.revoked(award), status=410)


@public_document
def issuer(request: HttpRequest) -> HttpResponse:
    return _json_ld(documents.issuer_profile())


@public_document
def assertion(request: HttpRequest, token: str) -> HttpResponse:
    award = selectors.award_by_assertion(token=token)
    if award.revoked_at is not None:
        return _revoked(award)
    attempt = selectors.award_attempt(award)
    return _json_ld(documents.assertion(award, email=award.user.email, attempt=attempt))


@public_document
def assertion_image(request: HttpRequest, token: str) -> HttpResponse:
    """The badge's image with this assertion baked in (the JSON served at the assertion's URL)."""
    award = selectors.award_by_assertion(token=token)
    if award.revoked_at is not None:
        return _revoked(award)
    document = documents.assertion(award, email=award.user.email, attempt=selectors.award_attempt(award))
    baked = images.baked_png(_badge_png(award.badge), json.dumps(document, separators=(",", ":")))
    return _png(baked, cache_control=ASSERTION_MAX_AGE)


@public_document
def secret_badge(request: HttpRequest, token: str) -> HttpResponse:
    award = selectors.award_by_assertion(token=token)
    if award.revoked_at is not None:
        return _revoked(award)
    return _json_ld(documents.badge_class(award.badge, url=documents.badge_class_url(award)))


@public_document
def secret_badge_image(request: HttpRequest, token: str) -> HttpResponse:
    award = selectors.award_by_assertion(token=token)
    if award.revoked_at is not None:
        return _revoked(award)
    return _png(_badge_png(award.badge), cache_control=ASSERTION_MAX_AGE)


@public_document
def badge(request: HttpRequest, badge_id: str) -> HttpResponse:
    found = selectors.public_badge(badge_id=badge_id)
    return _json_ld(documents.badge_class(found, url=documents.public_badge_class_url(found)))


@public_document
def badge_image(request: HttpRequest, badge_id: str) -> HttpResponse:
    return _png(_badge_png(selectors.public_badge(badge_id=badge_id)), cache_control=IMAGE_MAX_AGE)
