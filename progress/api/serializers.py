from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.api.serializers import AttemptSerializer, attempt_data
from progress.badges import conditions
from progress.boards.windows import PERIODS
from progress.ledger.services import GRANT_MAX_AMOUNT
from progress.live.tickets import TICKET_SECONDS
from progress.models import Badge, Notification, XpEntry
from progress.notifications.messages import TYPES


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
        # exclude(pk=None) (a new badge) is a valid lookup (IS NULL); the stubs' lookup check rejects None.
        if value and Badge.objects.exclude(pk=getattr(self.instance, "pk", None)).filter(slug=value).exists():  # type: ignore[misc]
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
    rank = serializers.IntegerField(
        allow_null=True, help_text="All-time leaderboard rank (1, 2, 2, 4 on ties); null without XP."
    )
    current_streak = serializers.IntegerField(help_text="Days in a row, ending today or yesterday (local).")
    longest_streak = serializers.IntegerField()
    recent_attempts = AttemptSerializer(many=True)
    badges = EarnedBadgeSerializer(many=True, help_text="Earned badges, newest first.")
    badge_progress = BadgeProgressSerializer(many=True, help_text="Each active badge not yet earned.")


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


class XpGrantRequestSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    amount = serializers.IntegerField(
        min_value=-GRANT_MAX_AMOUNT,
        max_value=GRANT_MAX_AMOUNT,
        help_text="XP to grant (positive) or revoke (negative); never 0.",
    )
    reason = serializers.CharField(max_length=XpEntry.REASON_MAX_LENGTH, help_text="Shown to the player.")

    def validate_amount(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError(
                "Must not be 0: grant with a positive amount, revoke with a negative."
            )
        return value


class XpEntrySerializer(serializers.ModelSerializer):
    """An entry as staff see it (the grant endpoint's answer)."""

    class Meta:
        model = XpEntry
        fields = ["id", "user_id", "amount", "kind", "reason", "actor_id", "explanation", "created_at"]
        read_only_fields = fields


class ChallengeRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()


class XpHistoryEntrySerializer(serializers.Serializer):
    """An entry as its player (and anyone who may see their progress) sees it; no actor."""

    id = serializers.UUIDField()
    amount = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=XpEntry.Kind.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    explanation = serializers.JSONField()
    challenge = serializers.SerializerMethodField()

    @extend_schema_field(ChallengeRefSerializer(allow_null=True))
    def get_challenge(self, entry) -> dict | None:
        if entry.challenge_ref is None:
            return None
        return {"id": entry.challenge_ref, "title": entry.challenge_title}


class RecalcRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="Only report the diff; the job's result lists it and nothing is written."
    )


class JobStatusSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.CharField()
    result = serializers.JSONField(required=False)
    error = serializers.CharField(required=False, allow_null=True)

    def to_representation(self, instance):
        return {key: value for key, value in super().to_representation(instance).items() if value is not None}


class NotificationSerializer(serializers.ModelSerializer):
    """The socket's message envelope, plus when the player read it (null: unread)."""

    type = serializers.ChoiceField(choices=sorted(name for name, kind in TYPES.items() if kind.kept))

    class Meta:
        model = Notification
        fields = ["id", "type", "created_at", "data", "read_at"]
        read_only_fields = fields


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only those not read yet.")


# The largest id PostgreSQL's bigint holds: a larger one is a 400, not a database error.
NOTIFICATION_MAX_ID = 2**63 - 1
NOTIFICATIONS_READ_MAX = 500


class NotificationsReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=NOTIFICATION_MAX_ID),
        min_length=1,
        max_length=NOTIFICATIONS_READ_MAX,
        required=False,
        help_text="These notifications (each must be yours).",
    )
    all = serializers.BooleanField(required=False, help_text="true: every notification you have.")

    def validate_all(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError('Only true; to mark some, send "ids".')
        return value

    def validate(self, attrs: dict) -> dict:
        if ("ids" in attrs) == ("all" in attrs):
            raise serializers.ValidationError(
                'Send either "ids" (a list of notification ids) or "all": true.'
            )
        return attrs


class NotificationsReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
    unread = serializers.IntegerField(help_text="How many are still unread.")


class LiveTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Connect to /ws/live/?ticket=<ticket>: once, for this player.")
    expires_in = serializers.IntegerField(help_text=f"Seconds it stays valid ({TICKET_SECONDS}).")


class LeaderboardQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS, default="all")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="Competition rank: equal XP share a rank (1, 2, 2, 4).")
    user_id = serializers.UUIDField()
    username = serializers.CharField()
    xp = serializers.IntegerField(help_text="XP in the period (all-time: total XP).")
    level = serializers.IntegerField()


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    count = serializers.IntegerField(help_text="Players on the whole board (XP > 0 in the period).")
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    results = LeaderboardEntrySerializer(many=True)


_TIMESTAMP = serializers.DateTimeField(read_only=True)


def badge_data(badge: Badge) -> dict:
    """`BadgeSerializer(badge).data` without building a serializer."""
    return {
        "id": str(badge.pk),
        "name": badge.name,
        "slug": badge.slug,
        "description": badge.description,
        "icon": badge.icon,
        "condition": badge.condition,
        "condition_description": badge.condition_description,
    }


def progress_data(progress: dict) -> dict:
    """`ProgressSerializer(progress).data` without building its ~20 nested serializers (~1 ms per
    response, more than the endpoint's queries); a test keeps the two outputs equal."""
    return {
        "user_id": str(progress["user_id"]),
        "username": progress["username"],
        "total_xp": progress["total_xp"],
        "level": progress["level"],
        "next_level_xp": progress["next_level_xp"],
        "level_progress": float(progress["level_progress"]),
        "rank": progress["rank"],
        "current_streak": progress["current_streak"],
        "longest_streak": progress["longest_streak"],
        "recent_attempts": [attempt_data(attempt) for attempt in progress["recent_attempts"]],
        "badges": [
            {"badge": badge_data(earned.badge), "awarded_at": _TIMESTAMP.to_representation(earned.awarded_at)}
            for earned in progress["badges"]
        ],
        "badge_progress": [
            {"badge": badge_data(item["badge"]), "current": item["current"], "target": item["target"]}
            for item in progress["badge_progress"]
        ],
    }
