"""API plumbing shared by every app: the exception handler and pagination."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, JsonResponse
from rest_framework import exceptions, pagination, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from skillquest.errors import DomainError, InvalidInput

logger = logging.getLogger("skillquest.api")


def exception_handler(exc, context):
    if isinstance(exc, InvalidInput) and exc.field:
        return Response({exc.field: [exc.message]}, status=exc.status)
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", exc.default_code))
    return response


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class CountedFetch(Protocol):
    """`fetch(limit=, offset=)`: a page of rows and the total they are a page of (any number if none)."""

    def __call__(self, *, limit: int, offset: int) -> tuple[Sequence[Any], int]: ...


class CountedPageNumberPagination(PageNumberPagination):
    """`PageNumberPagination` over a statement that returns its page and its total together
    (`COUNT(*) OVER ()` beside LIMIT/OFFSET): one round trip where a queryset takes two, a COUNT and
    the page. Same parameters, answers and errors; only `page=last` needs the total first, and pays
    a second round trip for it.
    """

    def paginate_counted(self, fetch: CountedFetch, request: Request) -> list[Any]:
        self.request = request
        page_size = self.get_page_size(request)
        assert page_size, "REST_FRAMEWORK sets PAGE_SIZE for every paginated view"
        asked = request.query_params.get(self.page_query_param) or 1
        if asked in self.last_page_strings:
            rows, total = fetch(limit=1, offset=0)
            asked = Paginator(range(total if rows else 0), page_size).num_pages
        try:
            number = int(asked)
        except (TypeError, ValueError):
            number = 0
        offset = (number - 1) * page_size
        # Beyond a bigint no database has the page (and PostgreSQL refuses the OFFSET outright).
        found = number >= 1 and offset < 2**63
        rows, total = fetch(limit=page_size, offset=offset) if found else ((), 0)
        if not rows and number != 1:
            raise exceptions.NotFound(self.invalid_page_message.format(page_number=asked, message=""))
        self.page = Page(list(rows), number, Paginator(range(total if rows else 0), page_size))
        if self.page.paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True  # the browsable API's page links
        return list(self.page)


def timestamp(value: datetime) -> str:
    """An aware datetime as DRF's DateTimeField renders it here (UTC, `Z`), a fifth of its cost: the
    hand-written renderers of the hottest endpoints format dozens per response."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def json_error(detail: str, code: str, http_status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=http_status)


def server_error_json() -> JsonResponse:
    return json_error("A server error occurred.", "server_error", status.HTTP_500_INTERNAL_SERVER_ERROR)
