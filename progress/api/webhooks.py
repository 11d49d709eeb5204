"""`/api/v1/admin/webhooks`: staff register endpoints, read their delivery log, send a test event and
redeliver (progress.webhooks)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from progress.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from progress.webhooks import selectors, services
from progress.webhooks.events import TYPES
from progress.webhooks.targets import URL_MAX_LENGTH

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(TYPES)))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "events", "description", "active", "consecutive_failures", "disabled_reason",
            "disabled_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """As an endpoint is read, plus its signing secret: shown here, once, and never again."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=URL_MAX_LENGTH,
        help_text="https URL; it must not resolve to a loopback, private, link-local or metadata address.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TYPES)), min_length=1, max_length=len(TYPES)
    )
    active = serializers.BooleanField(default=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "started_at", "succeeded", "response_status", "latency_ms", "error", "response_body",
            "next_retry_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event to this endpoint and its attempts, newest first (the delivery log)."""

    event_id = serializers.CharField(source="event.message_id", help_text="The webhook-id header.")
    event_type = serializers.CharField(source="event.type")
    attempts = WebhookAttemptSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event_id", "event_type", "status", "failed_attempts", "next_attempt_at", "last_attempt_at",
            "response_status", "error", "created_at", "delivered_at", "attempts",
        ]  # fmt: skip
        read_only_fields = fields


DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH, description="A delivery's id.")


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints (staff only): each receives the events it subscribes to, signed per Standard
    Webhooks with its secret (shown once, on create). Bad URL or unknown event type: 400."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = WebhookEndpointSerializer
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return selectors.endpoint_list()

    def get_object(self) -> WebhookEndpoint:
        return selectors.endpoint_get(endpoint_id=self.kwargs["pk"])

    @extend_schema(request=WebhookEndpointWriteSerializer, responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request, *args, **kwargs):
        data = WebhookEndpointWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(actor=request.user, **data.validated_data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointWriteSerializer, responses={200: WebhookEndpointSerializer})
    def update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        data = WebhookEndpointWriteSerializer(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, actor=request.user, **data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=WebhookEndpointWriteSerializer, responses={200: WebhookEndpointSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.endpoint_delete(endpoint=instance, actor=self.request.user)

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The endpoint's deliveries, newest first, each with its attempts (status, latency, error,
        next retry). Paginated."""
        endpoint = self.get_object()
        page = self.paginate_queryset(selectors.deliveries_of(endpoint=endpoint))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `webhook.test` event to this endpoint; follow it in its deliveries. 409 if disabled."""
        delivery = services.endpoint_send_test(endpoint=self.get_object(), actor=request.user)
        delivery = selectors.delivery_get(endpoint=delivery.endpoint, delivery_id=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, parameters=[DELIVERY_ID], responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        """Send this delivery again with the same webhook-id and a fresh retry schedule. 409 if the
        endpoint is disabled."""
        endpoint = self.get_object()
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id or "")
        services.delivery_redeliver(delivery=delivery, actor=request.user)
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
