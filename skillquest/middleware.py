"""Request id per web request: bound to every log line, returned in X-Request-ID, carried into jobs."""

from __future__ import annotations

import logging
import time

from skillquest.logging import log_context, log_event, sane_request_id

logger = logging.getLogger("skillquest.http")

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-ID (e.g. from the proxy) or makes one; logs one line per request.

    Placed before everything that logs, so the id is on Django's own error lines too, and the job
    enqueued by the request finds it in the logging context (skillquest.queue.enqueue).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        started = time.perf_counter()
        with log_context(request_id=request_id):
            response = self.get_response(request)
            user = getattr(request, "user", None)
            log_event(
                logger,
                "http_request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                user_id=str(user.pk) if user is not None and user.is_authenticated else None,
            )
        response[REQUEST_ID_HEADER] = request_id
        return response
