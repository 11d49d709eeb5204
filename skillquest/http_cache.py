"""Which answers a shared cache (the nginx micro-cache of scripts/nginx/) may keep, and for how long.

A view that answers every anonymous visitor alike marks its answer with `shareable()`; the
middleware then gives it an ETag and answers a matching If-None-Match with 304. Anything seen by a
signed-in viewer (a session, a bearer token or an API key) is `private, no-store`, whatever the view
said, and so is an answer that sets a cookie: a cache must never hand one visitor's cookie or page
to another.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag

# One second fresh, then up to five more served stale while one request refreshes it: a burst of
# anonymous readers costs the app about one render per second per page.
SHARED = "public, max-age=1, stale-while-revalidate=5"
PERSONAL = "private, no-store"


def signed_in(request: HttpRequest) -> bool:
    """Whether the answer may depend on who asks: a signed-in user, or credentials of any kind sent
    (an expired session or a bad token still must not read or fill the shared copy)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    return "Authorization" in request.headers or settings.SESSION_COOKIE_NAME in request.COOKIES


def shareable(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Mark a successful answer that is the same for every anonymous visitor as shareable; to a
    signed-in viewer (whose page shows their name, their rank, their `me`) it is personal."""
    if signed_in(request):
        response["Cache-Control"] = PERSONAL
    elif response.status_code == 200:
        response["Cache-Control"] = SHARED
        # A cache in front keys its copy by these too: a request that carries either gets its own.
        patch_vary_headers(response, ["Authorization", "Cookie"])
    return response


class CacheControlMiddleware:
    """ETag and 304 for shareable answers; `private, no-store` for a signed-in viewer's answers.

    Placed above the session, CSRF and messages middleware, so it sees every cookie they set.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        control = response.get("Cache-Control")
        if control == SHARED:
            if response.cookies or "Set-Cookie" in response or signed_in(request):
                response["Cache-Control"] = PERSONAL
            elif request.method in {"GET", "HEAD"} and not response.streaming:
                set_response_etag(response)
                return get_conditional_response(request, etag=response["ETag"], response=response)
        elif control is None and signed_in(request):
            response["Cache-Control"] = PERSONAL
        return response
