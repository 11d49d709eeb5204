"""Staff endpoints: statistics, and recalculation run as a background job."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from progress import jobs
from progress.api import serializers as s
from progress.staff.selectors import admin_stats
from skillquest import queue
from skillquest.errors import NotFound

JOB_ID = re.compile(r"\A[0-9a-f]{32}\Z")


class AdminViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAdminUser]
    serializer_class = s.AdminStatsSerializer

    @extend_schema(responses={200: s.AdminStatsSerializer})
    @action(detail=False, methods=["get"])
    def stats(self, request):
        return Response(s.AdminStatsSerializer(admin_stats()).data)

    @extend_schema(
        request=None,
        responses={202: inline_serializer("JobAccepted", fields={"job_id": serializers.CharField()})},
    )
    @action(detail=False, methods=["post"], url_path="recalc-xp")
    def recalc_xp(self, request):
        job_id = queue.enqueue_tracked(jobs.recalculate_xp)
        return Response({"job_id": job_id}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter("job_id", str, OpenApiParameter.PATH, description="From POST recalc-xp.")
        ],
        responses={200: s.JobStatusSerializer},
    )
    @action(detail=False, methods=["get"], url_path=r"jobs/(?P<job_id>[^/.]+)")
    def jobs(self, request, job_id=None):
        info = queue.job_status(job_id) if JOB_ID.match(job_id or "") else None
        if info is None:
            raise NotFound("Job not found (it may have expired).", code="job_not_found")
        return Response(s.JobStatusSerializer({"job_id": job_id, **info}).data)
