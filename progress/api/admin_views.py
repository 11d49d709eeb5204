"""Staff endpoints: statistics, and recalculation run as a background job."""

from __future__ import annotations

import re
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from progress import jobs
from progress.api import serializers as s
from progress.ledger.services import xp_grant
from progress.openbadges.services import badge_award_revoke
from progress.staff.selectors import admin_stats
from skillquest import queue
from skillquest.errors import InvalidInput, NotFound
from skillquest.openapi import errors
from skillquest.replicas import ReplicaReads

JOB_ID = re.compile(r"\A[0-9a-f]{32}\Z")
IDEMPOTENCY_KEY = re.compile(r"\A[\x21-\x7e]{1,100}\Z")


class AdminViewSet(ReplicaReads, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAdminUser]
    replica_actions = frozenset({"stats"})
    serializer_class = s.AdminStatsSerializer

    @extend_schema(responses={200: s.AdminStatsSerializer})
    @action(detail=False, methods=["get"])
    def stats(self, request):
        return Response(s.AdminStatsSerializer(admin_stats()).data)

    @extend_schema(
        request=s.RecalcRequestSerializer,
        responses={
            202: inline_serializer("JobAccepted", fields={"job_id": serializers.CharField()}),
            **errors(503),
        },
    )
    @action(detail=False, methods=["post"], url_path="recalc-xp")
    def recalc_xp(self, request):
        """Recalculate every player's XP against the ledger in the background; follow it at jobs/{id}.

        The finished job's `result`: `dry_run`, `players_changed`, `xp_delta_total`, `changes` (at most
        1,000, largest first; the counts are complete). A dry run writes nothing.
        """
        params = s.RecalcRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job_id = queue.enqueue_tracked(
            jobs.recalculate_xp, params.validated_data["dry_run"], str(request.user.pk)
        )
        return Response({"job_id": job_id}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=s.XpGrantRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="1-100 characters: a retried request with the same key grants once.",
            )
        ],
        responses={201: s.XpEntrySerializer, 200: s.XpEntrySerializer, **errors(404, 409)},
    )
    @action(detail=False, methods=["post"], url_path="xp-grants")
    def xp_grants(self, request):
        """Grant (amount > 0) or revoke (amount < 0) a player's XP, with a reason shown to them.

        201 with the entry; 200 with the earlier entry when an Idempotency-Key repeats; 409
        `xp_would_go_negative` if a revocation would take the total below 0; 404 unknown player.
        """
        params = s.XpGrantRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            raise InvalidInput("1 to 100 printable characters.", field="Idempotency-Key")
        granted = xp_grant(**params.validated_data, actor=request.user, idempotency_key=key)
        return Response(
            s.XpEntrySerializer(granted.entry).data,
            status=status.HTTP_201_CREATED if granted.created else status.HTTP_200_OK,
        )

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

    @extend_schema(
        request=s.BadgeAwardRevokeRequestSerializer,
        parameters=[
            OpenApiParameter(
                "award_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="`id` of an earned badge."
            )
        ],
        responses={200: s.BadgeAwardSerializer, **errors(404, 409)},
    )
    @action(detail=False, methods=["post"], url_path=r"badge-awards/(?P<award_id>[^/.]+)/revoke")
    def badge_award_revoke(self, request, award_id=None):
        """Revoke a badge award with a reason: its Open Badges assertion then answers 410 with the reason.

        The player no longer holds the badge (it leaves their profile and badge list) and the rules do
        not award it again; the award stays on record. 404 unknown award; 409 `badge_award_revoked`.
        """
        try:
            pk = uuid.UUID(award_id)
        except ValueError:
            raise NotFound("Badge award not found.", code="badge_award_not_found") from None
        params = s.BadgeAwardRevokeRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        award = badge_award_revoke(award_id=pk, reason=params.validated_data["reason"], actor=request.user)
        return Response(s.BadgeAwardSerializer(award).data)
