from __future__ import annotations

from rest_framework import serializers

from challenges.api.serializers import AttemptSerializer
from progress import conditions
from progress.models import Badge


class BadgeSerializer(serializers.ModelSerializer):
    """Public shape: the condition as data and in words."""

    condition_description = serializers.CharField(read_only=True)

    class Meta:
        model = Badge
        fields = ["id", "name", "slug", "description", "icon", "condition", "condition_description"]
        read_only_fields = fields


class BadgeStaffSerializer(serializers.ModelSerializer):
    """Staff write shape: the condition validated per field (400 with the reason)."""

    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    condition = serializers.JSONField()
    condition_description = serializers.CharField(read_only=True)

    class Meta:
        model = Badge
        fields = [
            "id", "name", "slug", "description", "icon", "condition", "condition_description",
            "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_condition(self, value):
        try:
            return conditions.validate(value)
        except conditions.ConditionError as exc:
            raise serializers.ValidationError(str(exc))

    def validate_slug(self, value):
        if value and Badge.objects.exclude(pk=getattr(self.instance, "pk", None)).filter(slug=value).exists():
            raise serializers.ValidationError("A badge with this slug already exists.")
        return value


class EarnedBadgeSerializer(serializers.Serializer):
    badge = BadgeSerializer()
    awarded_at = serializers.DateTimeField()


class BadgeProgressSerializer(serializers.Serializer):
    badge = BadgeSerializer()
    current = serializers.IntegerField()
    target = serializers.IntegerField()


class ProgressSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    username = serializers.CharField()
    total_xp = serializers.IntegerField()
    level = serializers.IntegerField()
    next_level_xp = serializers.IntegerField(help_text="Total XP at which the next level starts.")
    level_progress = serializers.FloatField(help_text="0-1, progress from this level's start to the next.")
    current_streak = serializers.IntegerField(help_text="Days in a row, ending today or yesterday (local).")
    longest_streak = serializers.IntegerField()
    recent_attempts = AttemptSerializer(many=True)
    badges = EarnedBadgeSerializer(many=True, help_text="Earned badges, newest first.")
    badge_progress = BadgeProgressSerializer(many=True, help_text="Each active badge not yet earned.")
