from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.api.serializers import AttemptSerializer, attempt_data
from progress.badges import conditions
from progress.boards.ranks import Page
from progress.boards.selectors import AROUND_DEFAULT, AROUND_MAX, BOARDS
from progress.boards.windows import PERIODS
from progress.ledger.selectors import HistoryEntry
from progress.ledger.services import GRANT_MAX_AMOUNT
from progress.live.tickets import TICKET_SECONDS
from progress.models import Badge, Notification, UserBadge, XpEntry
from progress.notifications.messages import TYPES
from progress.openbadges import documents as open_badges
from skillquest.api import timestamp

UNEARNED_SECRET = "a secret badge you have not earned."


class BadgeSerializer(serializers.ModelSerializer):
    """Public shape: the condition as data and in words, and how rare the badge is.

    A secret badge the viewer has not earned shows as "Secret badge": no slug, description or
    condition (`revealed` in the context: the ids of the badges the viewer holds).
    """

    slug = serializers.SlugField(allow_null=True, help_text=f"Null: {UNEARNED_SECRET}")
    condition = serializers.JSONField(allow_null=True, help_text=f"Null: {UNEARNED_SECRET}")
    condition_description = serializers.CharField(read_only=True)
    earned_by_percent = serializers.FloatField(
        read_only=True,
        help_text="Share of players with any XP who hold it, in percent (one decimal); refreshed "
        "in the background, not on each request.",
    )
    reveal_secrets = False  # earned badges (a player's own list) are shown whole

    class Meta:
        model = Badge
        fields = [
            "id", "name", "slug", "description", "icon", "condition", "condition_description", "secret",
            "earned_by_percent",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: Badge) -> dict:
        revealed = self.reveal_secrets or instance.pk in self.context.get("revealed", ())
        return badge_data(instance, revealed=revealed)


class EarnedBadgeRefSerializer(BadgeSerializer):
    reveal_secrets = True


class BadgeStaffSerializer(serializers.ModelSerializer):
    """Staff write shape: the condition validated per field (400 with the reason)."""

    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    condition = serializers.JSONField()
    condition_description = serializers.CharField(read_only=True)

    class Meta:
        model = Badge
        fields = [
            "id", "name", "slug", "description", "icon", "condition", "condition_description", "secret",
            "earned_by_percent", "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "earned_by_percent", "created_at", "updated_at"]

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
    id = serializers.UUIDField(help_text="The award's id (staff revoke an award by it).")
    badge = EarnedBadgeRefSerializer()
    awarded_at = serializers.DateTimeField()
    assertion_url = serializers.SerializerMethodField(
        help_text="The award's public Open Badges 2.0 assertion (hosted verification); `.png` after it is "
        "the badge image baked with it. It answers 404 while the player's email is not verified."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_assertion_url(self, award: UserBadge) -> str:
        return open_badges.assertion_url(award)


class BadgeProgressSerializer(serializers.Serializer):
    badge = BadgeSerializer()
    current = serializers.IntegerField(allow_null=True, help_text="Null for a secret badge.")
    target = serializers.IntegerField(allow_null=True, help_text="Null for a secret badge.")


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
    badge_progress = BadgeProgressSerializer(
        many=True, help_text="Each active badge not yet earned (secret ones as 'Secret badge', no progress)."
    )


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


class BadgeAwardRevokeRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=UserBadge.REVOCATION_REASON_MAX_LENGTH,
        help_text="Public: the revoked assertion answers 410 with it as `revocationReason`.",
    )


class BadgeAwardSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    badge_id = serializers.UUIDField()
    badge_name = serializers.CharField(source="badge.name")
    awarded_at = serializers.DateTimeField()
    assertion_url = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_reason = serializers.CharField(allow_blank=True)

    @extend_schema_field(OpenApiTypes.URI)
    def get_assertion_url(self, award: UserBadge) -> str:
        return open_badges.assertion_url(award)


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
    """An entry as its player (and anyone who may see their progress) sees it; no actor.

    The schema's shape; responses are built by `xp_history_entry_data`, which a test keeps equal.
    """

    id = serializers.UUIDField()
    amount = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=XpEntry.Kind.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    explanation = serializers.JSONField()
    challenge = serializers.SerializerMethodField()

    @extend_schema_field(ChallengeRefSerializer(allow_null=True))
    def get_challenge(self, entry: HistoryEntry) -> dict | None:
        if entry.challenge_id is None:
            return None
        return {"id": str(entry.challenge_id), "title": entry.challenge_title}


def xp_history_entry_data(entry: HistoryEntry) -> dict:
    """`XpHistoryEntrySerializer(entry).data` without building a serializer (a page of 20 cost
    ~0.3 ms of the endpoint's ~2 ms); a test keeps the two outputs equal."""
    return {
        "id": str(entry.id),
        "amount": entry.amount,
        "kind": entry.kind,
        "reason": entry.reason,
        "created_at": timestamp(entry.created_at),
        "explanation": entry.explanation,
        "challenge": None
        if entry.challenge_id is None
        else {"id": str(entry.challenge_id), "title": entry.challenge_title},
    }


class FollowingSerializer(serializers.Serializer):
    """A player someone follows."""

    user_id = serializers.UUIDField(source="followed.id")
    username = serializers.CharField(source="followed.username")
    level = serializers.IntegerField(source="followed.level")
    since = serializers.DateTimeField(source="created_at", help_text="When the following began.")


class FollowerSerializer(serializers.Serializer):
    """A player who follows someone."""

    user_id = serializers.UUIDField(source="follower.id")
    username = serializers.CharField(source="follower.username")
    level = serializers.IntegerField(source="follower.level")
    since = serializers.DateTimeField(source="created_at", help_text="When the following began.")


class RecalcRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="Only report the diff; the job's result lists it and nothing is written."
    )


class JobStatusSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.CharField()
    result = serializers.JSONField(required=False)
    error = serializers.CharField(required=False, allow_null=True)
    optional_in_response = ("result", "error")  # sent only once the job has one (skillquest.openapi)

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
    board = serializers.ChoiceField(
        choices=BOARDS,
        default="global",
        help_text="`global`: every player; `friends` (signed in): you and the players you follow.",
    )
    tag = serializers.SlugField(
        max_length=60, required=False, help_text="A tag's slug: only XP from challenges with that tag."
    )
    around = serializers.ChoiceField(
        choices=["me"],
        required=False,
        help_text="`me` (signed in): the `k` players above and below you instead of a page (`limit`, "
        "`offset` ignored), with your own row even if you are not on the board (`rank` null).",
    )
    k = serializers.IntegerField(min_value=1, max_value=AROUND_MAX, default=AROUND_DEFAULT)


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(
        allow_null=True,
        help_text="Competition rank: equal XP share a rank (1, 2, 2, 4); null only for your own row "
        "on a board you have no XP on (`around=me`).",
    )
    user_id = serializers.UUIDField()
    username = serializers.CharField()
    xp = serializers.IntegerField(help_text="XP in the period (all-time: total XP).")
    level = serializers.IntegerField()


class LeaderboardMeSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="Null: no XP on this board.")
    xp = serializers.IntegerField()
    on_board = serializers.BooleanField(
        help_text="False: no XP on this board, or you opted out of public boards (your rank is then "
        "where your XP would put you; nobody else sees you)."
    )


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    board = serializers.ChoiceField(choices=BOARDS)
    tag = serializers.SlugField(allow_null=True)
    count = serializers.IntegerField(help_text="Players on the whole board (XP > 0 in the period).")
    offset = serializers.IntegerField(help_text="Position of the first row on the board (0-based).")
    limit = serializers.IntegerField()
    results = LeaderboardEntrySerializer(many=True)
    me = LeaderboardMeSerializer(
        required=False, allow_null=True, help_text="Your own standing; only with `around=me`."
    )
    optional_in_response = ("me",)  # skillquest.openapi

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data["me"] is None:
            del data["me"]
        return data


def leaderboard_data(page: Page) -> dict:
    """`LeaderboardSerializer(page).data` without building its serializers (a board is read on every
    page view; the serializers cost about as much as the board's reads); a test keeps them equal."""
    data: dict[str, Any] = {
        "period": page.period,
        "board": page.board,
        "tag": page.tag,
        "count": page.count,
        "offset": page.offset,
        "limit": page.limit,
        "results": [
            {
                "rank": entry.rank,
                "user_id": str(entry.user_id),
                "username": entry.username,
                "xp": entry.xp,
                "level": entry.level,
            }
            for entry in page.results
        ],
    }
    if page.me is not None:
        data["me"] = {"rank": page.me.rank, "xp": page.me.xp, "on_board": page.me.on_board}
    return data


SECRET_BADGE_NAME = "Secret badge"


def badge_data(badge: Badge, *, revealed: bool) -> dict:
    """`BadgeSerializer(badge).data` without building a serializer; a secret badge not `revealed`
    (not earned by the viewer) keeps only its id, icon, rarity and that it is secret."""
    if badge.secret and not revealed:
        return {
            "id": str(badge.pk),
            "name": SECRET_BADGE_NAME,
            "slug": None,
            "description": "",
            "icon": "",
            "condition": None,
            "condition_description": "",
            "secret": True,
            "earned_by_percent": badge.earned_by_percent,
        }
    return {
        "id": str(badge.pk),
        "name": badge.name,
        "slug": badge.slug,
        "description": badge.description,
        "icon": badge.icon,
        "condition": badge.condition,
        "condition_description": badge.condition_description,
        "secret": badge.secret,
        "earned_by_percent": badge.earned_by_percent,
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
            {
                "id": str(earned.pk),
                "badge": badge_data(earned.badge, revealed=True),
                "awarded_at": timestamp(earned.awarded_at),
                "assertion_url": open_badges.assertion_url(earned),
            }
            for earned in progress["badges"]
        ],
        "badge_progress": [
            {
                "badge": badge_data(item["badge"], revealed=False),
                "current": item["current"],
                "target": item["target"],
            }
            for item in progress["badge_progress"]
        ],
    }
