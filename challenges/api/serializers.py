from __future__ import annotations

from rest_framework import serializers

from accounts.validators import validate_json_object
from challenges import grading
from challenges.models import ATTEMPT_METADATA_MAX_BYTES, XP_MAX, XP_MIN, Attempt, Challenge, Tag
from skillquest.api import timestamp


class GradingTypeField(serializers.ChoiceField):
    """How answers are graded (the `type` of the grading config): one of `grading.GRADING_TYPES`."""

    def __init__(self, **kwargs):
        super().__init__(choices=grading.GRADING_TYPES, read_only=True, **kwargs)


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["name", "slug"]


class ChallengeSerializer(serializers.ModelSerializer):
    """What players see: never the grading config (it may hold the answer)."""

    tags = TagSerializer(many=True, read_only=True)
    grading_type = GradingTypeField()

    class Meta:
        model = Challenge
        fields = [
            "id", "title", "slug", "description", "xp", "difficulty", "tags", "pass_score",
            "grading_type", "published", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class TagSlugField(serializers.SlugRelatedField):
    """A tag by slug; a value PostgreSQL could not even compare (a NUL character) is "no such tag"."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00"))
        return super().to_internal_value(data)


class ChallengeStaffSerializer(serializers.ModelSerializer):
    """Staff view and write shape: tags by slug, the grading config validated."""

    tags = TagSlugField(slug_field="slug", many=True, queryset=Tag.objects.all(), required=False)
    slug = serializers.SlugField(max_length=220, required=False, allow_blank=True)
    xp = serializers.IntegerField(min_value=XP_MIN, max_value=XP_MAX)
    pass_score = serializers.IntegerField(min_value=0, max_value=100, required=False)
    grading = serializers.JSONField(required=False)
    grading_type = GradingTypeField()

    class Meta:
        model = Challenge
        fields = [
            "id", "title", "slug", "description", "xp", "difficulty", "tags", "pass_score",
            "grading_type", "grading", "published", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def validate_grading(self, value):
        try:
            return grading.validate_config(value)
        except grading.GradingConfigError as exc:
            raise serializers.ValidationError(str(exc))

    def validate_slug(self, value):
        # pk=None (a new challenge) is a valid lookup, IS NULL, which the plugin's lookup types leave out.
        current = getattr(self.instance, "pk", None)
        if value and Challenge.objects.exclude(pk=current).filter(slug=value).exists():  # type: ignore[misc]
            raise serializers.ValidationError("A challenge with this slug already exists.")
        return value


CLIENT_MAX_DEPTH = 4


def validate_client(value) -> None:
    validate_json_object(
        value, max_bytes=ATTEMPT_METADATA_MAX_BYTES, max_depth=CLIENT_MAX_DEPTH, label="Client metadata"
    )


class AttemptSubmitSerializer(serializers.Serializer):
    score = serializers.IntegerField(
        min_value=0, max_value=100, required=False, help_text="0-100; used only by self-reported challenges."
    )
    solution = serializers.CharField(
        max_length=grading.SOLUTION_MAX_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )
    client = serializers.DictField(
        required=False,
        validators=[validate_client],
        help_text=f"Free-form client details, stored with the attempt; at most {CLIENT_MAX_DEPTH} levels.",
    )


class AttemptStartSerializer(AttemptSubmitSerializer):
    """Start an attempt; with an answer (`score` and/or `solution`) also grade it in the same call."""

    challenge_id = serializers.UUIDField()

    @property
    def answered(self) -> bool:
        return any(name in self.validated_data for name in ("score", "solution"))


class AttemptSerializer(serializers.ModelSerializer):
    challenge_id = serializers.UUIDField(read_only=True)
    challenge_title = serializers.CharField(source="challenge.title", read_only=True)

    class Meta:
        model = Attempt
        fields = [
            "id", "challenge_id", "challenge_title", "status", "score", "xp_awarded",
            "started_at", "submitted_at", "awarded_at",
        ]  # fmt: skip
        read_only_fields = fields


def attempt_data(attempt: Attempt) -> dict:
    """`AttemptSerializer(attempt).data` without building a serializer (~0.2 ms per response).

    Start and submit answer with it on every play; a test keeps the two outputs equal.
    """

    def when(value):
        return None if value is None else timestamp(value)

    return {
        "id": str(attempt.pk),
        "challenge_id": str(attempt.challenge_id),
        "challenge_title": attempt.challenge.title,
        "status": attempt.status,
        "score": attempt.score,
        "xp_awarded": attempt.xp_awarded,
        "started_at": when(attempt.started_at),
        "submitted_at": when(attempt.submitted_at),
        "awarded_at": when(attempt.awarded_at),
    }
