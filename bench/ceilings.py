"""Ceiling views for the benchmarks: the cheapest thing each layer of our stack can do per request.

Routed under /bench/ only by bench/urls.py, the URLconf the bench harness gives its own gunicorn
(ROOT_URLCONF=bench.urls); never in production. They read and write only `bench_counter`, a table
the harness creates in its own bench_* database, and the Redis key `bench:ceiling:zset` that the
harness fills: no real data is touched. Redis is reached through the client the site uses.
"""

from __future__ import annotations

import random

from django.db import connection
from django.db.utils import ProgrammingError
from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from skillquest.redis_client import redis_connection

COUNTER_ROWS = 1000
ZSET_KEY = "bench:ceiling:zset"


def _missing_table() -> JsonResponse:
    return JsonResponse(
        {"detail": "bench_counter does not exist: the bench harness creates it.", "code": "bench_setup"},
        status=503,
    )


def plain_json(request):
    return JsonResponse({"ok": True})


class DrfView(APIView):
    """A bare DRF APIView: project authentication classes, no permission check, no throttle."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({"ok": True})


def pk_select(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT n FROM bench_counter WHERE id = %s", [random.randrange(COUNTER_ROWS)])
            row = cursor.fetchone()
    except ProgrammingError:
        return _missing_table()
    return JsonResponse({"n": row[0]})


def pk_update(request):
    # Autocommit: one single-row UPDATE transaction per request, as a submit's own row write.
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE bench_counter SET n = n + 1 WHERE id = %s", [random.randrange(COUNTER_ROWS)]
            )
    except ProgrammingError:
        return _missing_table()
    return JsonResponse({"ok": True})


def redis_top10(request):
    rows = redis_connection().zrevrange(ZSET_KEY, 0, 9, withscores=True)
    return JsonResponse({"top": [[member.decode(), score] for member, score in rows]})
