"""API plumbing shared by every app: the exception handler and pagination."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, pagination, status
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


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def json_error(detail: str, code: str, http_status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=http_status)


def server_error_json() -> JsonResponse:
    return json_error("A server error occurred.", "server_error", status.HTTP_500_INTERNAL_SERVER_ERROR)
