from __future__ import annotations

from collections.abc import Mapping
from typing import cast
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.models import User
from challenges import selectors, services
from challenges.api import serializers as s
from challenges.api.filters import AttemptFilter, ChallengeFilter
from challenges.models import Attempt
from skillquest.errors import NotFound
from skillquest.openapi import errors, staff_or_player_crud
from skillquest.replicas import ReplicaReads
from skillquest.throttling import AttemptStartThrottle, AttemptSubmitThrottle, ThrottlesInOneCall


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


# Players and staff read challenges in two shapes (staff: drafts' fields, the grading config, tags by
# slug); the schema names both, whoever fetches it, so a generated client parses either.
@staff_or_player_crud(
    "ChallengeForStaffOrPlayer", staff=s.ChallengeStaffSerializer, player=s.ChallengeSerializer
)
class ChallengeViewSet(
    ReplicaReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Published challenges for everyone; staff also see drafts and may create, edit and delete."""

    permission_classes = [IsStaffOrReadOnly]
    filterset_class = ChallengeFilter
    replica_actions = frozenset({"list", "retrieve"})

    def get_queryset(self):
        return selectors.challenge_list(viewer=self.request.user)

    def get_serializer_class(self):
        user = self.request.user
        if user and user.is_authenticated and user.is_staff:
            return s.ChallengeStaffSerializer
        return s.ChallengeSerializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        staff = cast(User, self.request.user)  # IsStaffOrReadOnly: only staff create
        serializer.instance = services.challenge_create(created_by=staff, tags=tags, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        serializer.instance = services.challenge_update(
            challenge=serializer.instance, actor=cast(User, self.request.user), tags=tags, **data
        )

    def perform_destroy(self, instance):
        services.challenge_delete(challenge=instance, actor=cast(User, self.request.user))


class TagViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.AllowAny]
    serializer_class = s.TagSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.tag_list()


class AttemptViewSet(
    ThrottlesInOneCall,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """A player's own attempts: start one, submit it once, watch `xp_awarded` arrive."""

    serializer_class = s.AttemptSerializer
    filterset_class = AttemptFilter

    def get_throttles(self):
        extra: dict[str | None, list[BaseThrottle]] = {
            "create": [AttemptStartThrottle(), *([AttemptSubmitThrottle()] if self._answered() else [])],
            "submit": [AttemptSubmitThrottle()],
        }
        return [*super().get_throttles(), *extra.get(self.action, [])]

    def _answered(self) -> bool:
        """A start that carries an answer grades too: it counts against the submit limit as well."""
        data = self.request.data if self.request.method == "POST" else None
        return isinstance(data, Mapping) and any(data.get(name) is not None for name in ("score", "solution"))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Attempt.objects.none()
        player = cast(User, self.request.user)  # IsAuthenticated (the default): never anonymous
        return selectors.attempt_list(user=player).select_related("challenge")

    @extend_schema(
        request=s.AttemptStartSerializer,
        responses={201: s.AttemptSerializer, **errors(404)},
        description="Start an attempt. With `score` and/or `solution` in the body it is also graded in the "
        "same call (the one-call submit: the same rules, award and 400s as `submit`; nothing is kept if "
        "the answer is refused), and it counts against the submit limit too.",
    )
    def create(self, request, *args, **kwargs):
        data = s.AttemptStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = dict(data.validated_data)
        challenge_id = answer.pop("challenge_id")
        if data.answered:
            player = request.user
            attempt = services.attempt_start_and_submit(user=player, challenge_id=challenge_id, **answer)
        else:
            attempt = services.attempt_start(user=request.user, challenge_id=challenge_id)
        return Response(s.attempt_data(attempt), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AttemptSubmitSerializer, responses={200: s.AttemptSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        data = s.AttemptSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = services.attempt_submit(
            user=request.user, attempt_id=self._attempt_id(pk), **data.validated_data
        )
        return Response(s.attempt_data(attempt))

    def _attempt_id(self, pk):
        try:
            return UUID(str(pk))
        except ValueError:
            raise NotFound("Attempt not found.", code="attempt_not_found")
