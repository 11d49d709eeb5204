from __future__ import annotations

from rest_framework import serializers

from challenges.api.serializers import AttemptSerializer
from progress import leaderboard


class ProgressSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    username = serializers.CharField()
    total_xp = serializers.IntegerField()
    level = serializers.IntegerField()
    next_level_xp = serializers.IntegerField(help_text="Total XP at which the next level starts.")
    level_progress = serializers.FloatField(help_text="0-1, progress from this level's start to the next.")
    rank = serializers.IntegerField(
        allow_null=True, help_text="All-time leaderboard rank (1, 2, 2, 4 on ties); null without XP."
    )
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


class LeaderboardQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=leaderboard.PERIODS, default="all")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="Competition rank: equal XP share a rank (1, 2, 2, 4).")
    user_id = serializers.UUIDField()
    username = serializers.CharField()
    xp = serializers.IntegerField(help_text="XP in the period (all-time: total XP).")
    level = serializers.IntegerField()


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=leaderboard.PERIODS)
    count = serializers.IntegerField(help_text="Players on the whole board (XP > 0 in the period).")
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    results = LeaderboardEntrySerializer(many=True)
