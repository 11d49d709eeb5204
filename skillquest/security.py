"""Security middleware: the Content-Security-Policy header and the request body limit on API paths."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

from skillquest.api import is_api_path, json_error

# Reading (and discarding) an oversized body lets the 413 reach the client instead of a connection
# reset; beyond this many bytes the connection is simply closed after the answer.
_DRAIN_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024


def content_security_policy(request: HttpRequest) -> str:
    """The policy for a request: strict everywhere; the DRF tool pages may use inline styles (never
    scripts). Pages may also connect to the live socket (progress.live)."""
    if request.path.startswith(tuple(settings.CSP_RELAXED_STYLE_PATHS)):
        policy = settings.CSP_TOOL_PAGES
    else:
        policy = settings.CSP_DEFAULT
    socket = live_socket_origin(request)
    return policy.replace("connect-src 'self'", f"connect-src 'self' {socket}") if socket else policy


def live_socket_origin(request: HttpRequest) -> str:
    """Where this page's WebSocket goes: WS_PUBLIC_URL, else ws(s):// on the page's own host.

    CSP Level 3 lets 'self' cover ws(s) on the page's host, but older browsers need it named. A
    request for a host outside ALLOWED_HOSTS names none (it gets a 400 anyway).
    """
    if settings.WS_PUBLIC_URL:
        return settings.WS_PUBLIC_URL
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
        return response


class RequestBodyLimitMiddleware:
    """Refuse API request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413 JSON answer.

    Django enforces the limit only when `request.body` or `request.POST` is read; DRF's parsers
    read the stream directly, so without this an API endpoint would parse a body of any size.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and is_api_path(request.path):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return json_error("Invalid Content-Length header.", "bad_request", 400)
            if length > limit:
                self._drain(request, length)
                response = json_error(
                    f"Request body too large (at most {limit} bytes).", "request_too_large", 413
                )
                response["Connection"] = "close"
                return response
        return self.get_response(request)

    @staticmethod
    def _drain(request, length: int) -> None:
        remaining = min(length, _DRAIN_LIMIT)
        while remaining > 0:
            chunk = request.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
