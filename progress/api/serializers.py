from __future__ import annotations

from rest_framework import serializers

from challenges.api.serializers import AttemptSerializer


class ProgressSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    username = serializers.CharField()
    total_xp = serializers.IntegerField()
    level = serializers.IntegerField()
    next_level_xp = serializers.IntegerField(help_text="Total XP at which the next level starts.")
    level_progress = serializers.FloatField(help_text="0-1, progress from this level's start to the next.")
    recent_attempts = AttemptSerializer(many=True)


class DailyCountSerializer(serializers.Serializer):
    day = serializers.DateField()
    value = serializers.IntegerField()


class AdminStatsSerializer(serializers.Serializer):
    users = serializers.IntegerField()
    challenges_published = serializers.IntegerField()
    challenges_total = serializers.IntegerField()
    attempts_by_status = serializers.DictField(child=serializers.IntegerField())
    xp_distributed = serializers.IntegerField()
    pending_awards = serializers.IntegerField()
    new_users_per_day = DailyCountSerializer(many=True)
    xp_awarded_per_day = DailyCountSerializer(many=True)


class JobStatusSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.CharField()
    result = serializers.JSONField(required=False)
    error = serializers.CharField(required=False, allow_null=True)

    def to_representation(self, instance):
        return {key: value for key, value in super().to_representation(instance).items() if value is not None}
