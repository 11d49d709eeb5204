"""`/api/v1/events`: public reads of time-limited events and their boards; staff writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from challenges.api.views import IsStaffOrReadOnly
from progress.api.serializers import LeaderboardEntrySerializer
from progress.events import selectors, services
from progress.models import EVENT_MULTIPLIER_MAX, EVENT_MULTIPLIER_MIN, Event
from skillquest.cache import RecentPages
from skillquest.http_cache import shareable
from skillquest.openapi import errors

SLUG_PATTERN = r"[-a-zA-Z0-9_]+"


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its offset (`2026-05-01T09:00:00Z`, `...+02:00`); a time without one
    is refused rather than read in some zone the client did not name."""

    default_error_messages = {
        "naive": "Give the time zone: an ISO 8601 time with an offset, e.g. 2026-05-01T09:00:00Z.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        try:
            return value.astimezone(UTC)
        except OverflowError:  # a date at the edge of the calendar, with an offset that leaves it
            self.fail("invalid", format="ISO 8601")


class EventSerializer(serializers.ModelSerializer):
    """An event as anyone sees it; `challenge_ids` lists its published challenges (staff: all)."""

    challenge_ids = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    final = serializers.SerializerMethodField()
    xp_multiplier = serializers.DecimalField(max_digits=3, decimal_places=2, coerce_to_string=False)

    class Meta:
        model = Event
        fields = [
            "id", "name", "slug", "description", "starts_at", "ends_at", "xp_multiplier", "challenge_ids",
            "state", "final", "frozen_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_challenge_ids(self, event: Event) -> list[str]:
        return [str(challenge.pk) for challenge in event.challenges.all()]  # prefetched by the selector

    @extend_schema_field(serializers.ChoiceField(choices=Event.State.choices))
    def get_state(self, event: Event) -> str:
        return event.state_at(self.context["now"])

    def get_final(self, event: Event) -> bool:
        return event.is_final


class EventWriteSerializer(serializers.Serializer):
    """What staff send; the rules that need the database (window, overlap, state) are the service's."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    challenge_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=services.MAX_CHALLENGES
    )
    xp_multiplier = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=EVENT_MULTIPLIER_MIN,
        max_value=EVENT_MULTIPLIER_MAX,
        required=False,
        help_text="1.00-5.00 (default 1.00): an attempt that counts earns (multiplier - 1) x its XP on top.",
    )

    def validate_slug(self, value: str) -> str:
        current = getattr(self.instance, "pk", None)
        if value and Event.objects.exclude(pk=current).filter(slug=value).exists():  # type: ignore[misc]
            raise serializers.ValidationError("An event with this slug already exists.")
        return value


class EventStateQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=selectors.STATES, required=False)


class EventBoardQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class EventBoardSerializer(serializers.Serializer):
    event = serializers.SlugField(help_text="The event's slug.")
    final = serializers.BooleanField(
        help_text="True once the event has ended and its standings are frozen: the board never changes again."
    )
    count = serializers.IntegerField(help_text="Players on the whole board.")
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    results = LeaderboardEntrySerializer(many=True)


@extend_schema_view(destroy=extend_schema(responses={204: None, **errors(409)}))
class EventViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Time-limited events: everyone reads them and their boards; staff create, edit and delete them
    under the rules of `progress.events.services` (409 once a change would rewrite a started or
    finished event)."""

    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN

    def get_queryset(self):
        query = EventStateQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.event_list(state=query.validated_data.get("state"), viewer=self.request.user)

    def get_object(self) -> Event:
        return selectors.event_by_slug(slug=self.kwargs["slug"], viewer=self.request.user)

    def get_serializer_class(self):
        return (
            EventWriteSerializer if self.action in {"create", "update", "partial_update"} else EventSerializer
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _answer(self, event: Event, status_code: int = status.HTTP_200_OK) -> Response:
        event = selectors.event_by_slug(slug=event.slug, viewer=self.request.user)
        return Response(
            EventSerializer(event, context=self.get_serializer_context()).data, status=status_code
        )

    @extend_schema(parameters=[EventStateQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=EventWriteSerializer, responses={201: EventSerializer})
    def create(self, request, *args, **kwargs):
        data = EventWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.event_create(actor=cast(User, request.user), **data.validated_data)
        return self._answer(event, status.HTTP_201_CREATED)

    @extend_schema(request=EventWriteSerializer, responses={200: EventSerializer, **errors(409)})
    def update(self, request, *args, **kwargs):
        event = self.get_object()
        data = EventWriteSerializer(event, data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        event = services.event_update(event=event, actor=cast(User, request.user), **data.validated_data)
        return self._answer(event)

    @extend_schema(request=EventWriteSerializer, responses={200: EventSerializer, **errors(409)})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.event_delete(event=instance, actor=cast(User, self.request.user))

    @extend_schema(parameters=[EventBoardQuerySerializer], responses={200: EventBoardSerializer})
    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny], pagination_class=None)
    def leaderboard(self, request, slug=None):
        """The event's board: XP earned in the event (its attempts' paid XP and bonuses), competition
        ranks (1, 2, 2, 4), ties by username; `final` once frozen, after which it never changes."""
        key = "|".join([slug or "", *(request.query_params.get(name, "") for name in ("limit", "offset"))])
        data = event_pages.get(key)
        if data is None:
            query = EventBoardQuerySerializer(data=request.query_params.dict())
            query.is_valid(raise_exception=True)
            event = selectors.event_by_slug(slug=slug or "")
            data = EventBoardSerializer(selectors.event_board(event=event, **query.validated_data)).data
            event_pages.put(key, data)  # only valid queries of existing events get here
        return shareable(request, Response(data))


event_pages = RecentPages(seconds=lambda: settings.LEADERBOARD_CACHE_SECONDS)
