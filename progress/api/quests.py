"""`/api/v1/quests`: staff define daily quests; `/api/v1/quests/today` is a signed-in player's day."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from progress.models import QUEST_REWARD_MAX, QUEST_REWARD_MIN, Quest
from progress.quests import kinds, selectors, services
from progress.quests.selectors import QuestToday
from skillquest.errors import InvalidInput
from skillquest.openapi import errors

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class QuestSerializer(serializers.ModelSerializer):
    """A quest as staff edit it. `kind` is one of the registered kinds; `params` are that kind's,
    checked by its class (400 naming `kind` or `params` and what is wrong)."""

    kind = serializers.ChoiceField(choices=kinds.KIND_CHOICES)
    params = serializers.JSONField(
        help_text='The kind\'s settings: pass_challenges {"count"}, earn_xp {"xp"}, '
        'pass_difficulty {"difficulty", "count"}, pass_tag {"tag", "count"}.'
    )
    reward_xp = serializers.IntegerField(min_value=QUEST_REWARD_MIN, max_value=QUEST_REWARD_MAX)
    summary = serializers.CharField(read_only=True, help_text="The rule in words.")

    class Meta:
        model = Quest
        fields = [
            "id", "name", "description", "kind", "params", "reward_xp", "active", "summary", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "summary", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "kind" in attrs or "params" in attrs:
            kind = attrs.get("kind", getattr(self.instance, "kind", None))
            params = attrs.get("params", getattr(self.instance, "params", {}))
            try:
                attrs["params"] = services.quest_validated(kind, params)
            except InvalidInput as exc:
                raise serializers.ValidationError({exc.field or "params": [exc.message]})
        return attrs


class QuestRefSerializer(serializers.ModelSerializer):
    summary = serializers.CharField(read_only=True)

    class Meta:
        model = Quest
        fields = ["id", "name", "description", "kind", "params", "summary"]
        read_only_fields = fields


class QuestTodaySerializer(serializers.Serializer):
    quest = QuestRefSerializer()
    current = serializers.IntegerField(help_text="Progress today (the player's local day), at most `target`.")
    target = serializers.IntegerField()
    completed_at = serializers.DateTimeField(
        allow_null=True, help_text="When today's reward was paid; null until the target is reached."
    )
    reward_xp = serializers.IntegerField()


@extend_schema_view(destroy=extend_schema(responses={204: None, **errors(409)}))
class QuestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Daily quests, defined by staff (every operation is staff-only but `today`). A quest that has
    paid rewards is deactivated, not deleted (409)."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = QuestSerializer
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return selectors.quest_list()

    def perform_create(self, serializer):
        serializer.instance = services.quest_create(
            actor=cast(User, self.request.user), **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.quest_update(
            quest=serializer.instance, actor=cast(User, self.request.user), **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.quest_delete(quest=instance, actor=cast(User, self.request.user))

    @extend_schema(responses={200: QuestTodaySerializer(many=True)})
    @action(
        detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated], pagination_class=None
    )
    def today(self, request):
        """Every active quest with the signed-in player's progress on their local day (their time zone):
        a new day starts from zero."""
        player = cast(User, request.user)
        today: list[QuestToday] = selectors.quests_today(user=player)
        return Response(QuestTodaySerializer(today, many=True).data)
