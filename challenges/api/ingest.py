"""`/api/v1/admin/api-keys` (staff issue, list and revoke keys) and `/api/v1/ingest/attempts` (a key
records a player's score)."""

from __future__ import annotations

import re
from typing import cast

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from challenges.api.serializers import AttemptSerializer, attempt_data
from challenges.ingest import selectors, services
from challenges.ingest.authentication import ApiKeyAuthentication, HasApiKey
from challenges.models import ApiKey, ApiKeyScope
from skillquest.throttling import ApiKeyThrottle

IDEMPOTENCY_KEY = re.compile(r"\A[\x21-\x7e]{1,100}\Z")


class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="prefix", read_only=True, help_text="The key's public prefix.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices))
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ApiKey
        fields = ["id", "name", "scopes", "created", "created_by", "expiry_date", "revoked", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50, help_text="Names the key in the audit log.")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices), min_length=1, max_length=len(ApiKeyScope)
    )
    expiry_date = serializers.DateTimeField(required=False, allow_null=True, help_text="None: never expires.")

    def validate_scopes(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each scope once.")
        return sorted(value)

    def validate_expiry_date(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret: shown this once, stored only hashed.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """API keys for servers that report scores. Staff only; a key is revoked, never deleted."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = ApiKeySerializer
    lookup_field = "prefix"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/.]+"

    def get_queryset(self):
        return selectors.api_key_list()

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        """Issue a key: the answer's `key` is the only time the secret is shown."""
        params = ApiKeyCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create(**params.validated_data, actor=cast(User, request.user))
        api_key.key = secret  # type: ignore[attr-defined]  # for the one response that shows it
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, id=None):
        """Revoke for good: the key's next use is a 401. Already revoked: 409 `api_key_revoked`."""
        revoked = services.api_key_revoke(api_key=self.get_object(), actor=cast(User, request.user))
        return Response(ApiKeySerializer(revoked).data)


class IngestAttemptSerializer(serializers.Serializer):
    username = serializers.CharField(required=False, max_length=150, help_text="The player; or `user_id`.")
    user_id = serializers.UUIDField(required=False, help_text="The player; or `username`.")
    challenge = serializers.SlugField(
        max_length=220, help_text="A published, self-reported challenge's slug."
    )
    score = serializers.IntegerField(min_value=0, max_value=100)
    idempotency_key = serializers.CharField(
        max_length=100,
        help_text="1-100 printable ASCII characters, unique per API key: a retry with the same one answers "
        "200 with the first call's attempt.",
    )

    def validate_idempotency_key(self, value):
        if not IDEMPOTENCY_KEY.match(value):
            raise serializers.ValidationError("1 to 100 printable ASCII characters, no spaces.")
        return value

    def validate(self, attrs):
        if ("username" in attrs) == ("user_id" in attrs):
            raise serializers.ValidationError("Give exactly one of `username` and `user_id`.")
        return attrs


class IngestedAttemptSerializer(AttemptSerializer):
    user_id = serializers.UUIDField(read_only=True)

    class Meta(AttemptSerializer.Meta):
        fields = [*AttemptSerializer.Meta.fields, "user_id"]
        read_only_fields = fields


class IngestAttemptViewSet(viewsets.GenericViewSet):
    """Scores reported by another server with an API key (scope `ingest`), graded and awarded as a
    player's own submit would be."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ApiKeyThrottle]
    serializer_class = IngestedAttemptSerializer
    api_key_scope = ApiKeyScope.INGEST  # the schema lists apiKeyAuth here (ApiKeyScheme)

    @extend_schema(
        request=IngestAttemptSerializer,
        responses={
            201: IngestedAttemptSerializer,
            200: OpenApiResponse(IngestedAttemptSerializer, description="A retry: the first call's attempt."),
        },
    )
    def create(self, request):
        """Record a graded attempt for a player: 201 with it, then the award job awards its XP.

        The same `idempotency_key` again: 200 with the same attempt (409 if the player, challenge or score
        differ). 404 for an unknown or inactive player and an unknown or unpublished challenge; 400 for a
        challenge that is not self-reported. No start is needed.
        """
        params = IngestAttemptSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        ingested = services.attempt_ingest(
            api_key=cast(ApiKey, request.auth),
            idempotency_key=data["idempotency_key"],
            challenge_slug=data["challenge"],
            score=data["score"],
            user_id=data.get("user_id"),
            username=data.get("username"),
        )
        attempt = ingested.attempt
        return Response(
            {**attempt_data(attempt), "user_id": str(attempt.user_id)},
            status=status.HTTP_201_CREATED if ingested.created else status.HTTP_200_OK,
        )
