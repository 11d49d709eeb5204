from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey

from challenges import grading

XP_MIN, XP_MAX = 1, 100_000
ATTEMPT_METADATA_MAX_BYTES = 16 * 1024


def default_grading() -> dict:
    return {"type": "self_reported"}


def validate_grading(value) -> None:
    try:
        grading.validate_config(value)
    except grading.GradingConfigError as exc:
        raise ValidationError(str(exc))


class Tag(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="challenges_tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class Challenge(models.Model):
    class Difficulty(models.TextChoices):
        EASY = "easy", "Easy"
        MEDIUM = "medium", "Medium"
        HARD = "hard", "Hard"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True, help_text="Markdown; rendered sanitised on pages.")
    xp = models.IntegerField(validators=[MinValueValidator(XP_MIN), MaxValueValidator(XP_MAX)])
    difficulty = models.CharField(max_length=10, choices=Difficulty.choices, default=Difficulty.EASY)
    # Sort key for ordering by difficulty (easy < medium < hard), kept by the database itself.
    difficulty_rank = models.GeneratedField(
        expression=models.Case(
            models.When(difficulty="easy", then=models.Value(1)),
            models.When(difficulty="medium", then=models.Value(2)),
            default=models.Value(3),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    tags = models.ManyToManyField(Tag, related_name="challenges", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published = models.BooleanField(default=False)
    pass_score = models.IntegerField(default=50, validators=[MinValueValidator(0), MaxValueValidator(100)])
    grading = models.JSONField(default=default_grading, validators=[validate_grading])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["difficulty_rank", "title"]
        indexes = [models.Index(fields=["published", "difficulty_rank", "title"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(xp__gte=XP_MIN, xp__lte=XP_MAX), name="challenges_challenge_xp_range"
            ),
            models.CheckConstraint(
                condition=models.Q(pass_score__gte=0, pass_score__lte=100),
                name="challenges_challenge_pass_score_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def grading_type(self) -> str:
        return self.grading.get("type", "self_reported")

    @property
    def needs_solution(self) -> bool:
        return grading.needs_solution(self.grading)


# Graded and not yet awarded: the award job's work. Written once, here: the partial index
# `attempt_pending_award` holds exactly these rows and `Attempt.objects.award_pending()` selects
# them (a query filtered by this condition can use the index; challenges/tests/test_models.py).
AWARD_PENDING = models.Q(status__in=["passed", "failed"], xp_awarded__isnull=True)


class AttemptQuerySet(models.QuerySet):
    def award_pending(self) -> AttemptQuerySet:
        """Graded attempts whose XP is not awarded yet (`Attempt.award_pending` for one attempt)."""
        return self.filter(AWARD_PENDING)


class Attempt(models.Model):
    # An attempt is started, then graded on submission in one UPDATE (challenges.services):
    # there is no state between the two.
    class Status(models.TextChoices):
        STARTED = "started", "Started"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    GRADED = (Status.PASSED, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    # PROTECT: a challenge with attempts is unpublished, never deleted, so players keep their history.
    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="attempts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    score = models.IntegerField(null=True, blank=True)
    xp_awarded = models.IntegerField(null=True, blank=True)
    awarded_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["user", "-started_at"], name="attempt_user_recent"),
            models.Index(fields=["user", "challenge", "status"], name="attempt_user_challenge"),
            models.Index(fields=["submitted_at"], name="attempt_pending_award", condition=AWARD_PENDING),
            models.Index(fields=["awarded_at"], name="attempt_awarded_at"),
            # One player's attempts graded in a window: their local day, for daily quests
            # (progress.quests.days), read by the award job for every player of a batch.
            models.Index(fields=["user", "submitted_at"], name="attempt_user_submitted"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=100),
                name="challenges_attempt_score_range",
            ),
            models.CheckConstraint(
                condition=models.Q(xp_awarded__isnull=True) | models.Q(xp_awarded__gte=0),
                name="challenges_attempt_xp_awarded_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.challenge_id} · {self.status}"

    @property
    def is_graded(self) -> bool:
        return self.status in self.GRADED

    @property
    def award_pending(self) -> bool:
        return self.is_graded and self.xp_awarded is None


# --- API keys for server-to-server score ingestion (POST /api/v1/ingest/attempts) -------------------
class ApiKeyScope(models.TextChoices):
    INGEST = "ingest", "Ingest scores"
    READ = "read", "Read public data"


def validate_scopes(value) -> None:
    if (
        not isinstance(value, list)
        or not value
        or len(set(value)) != len(value)
        or any(scope not in ApiKeyScope.values for scope in value)
    ):
        raise ValidationError(f"A non-empty list of distinct scopes from: {', '.join(ApiKeyScope.values)}.")


class ApiKey(AbstractAPIKey):
    """A key a server uses instead of a player's token: shown once, stored hashed (sha512 of a random key;
    djangorestframework-api-key), found by its public 8-character prefix, never deleted, only revoked."""

    scopes = models.JSONField(default=list, validators=[validate_scopes], help_text="ingest, read")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    # What the throttles count a request made with a key by (skillquest.throttling.api_key_ident).
    @property
    def throttle_ident(self) -> str:
        return self.prefix

    @property
    def usable(self) -> bool:
        return not self.revoked and not self.has_expired

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IngestedAttempt(models.Model):
    """Which attempt a key's idempotency key made: the unique pair is what makes a retried (or a
    racing) ingestion return the first one's attempt instead of grading twice."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="ingested")
    idempotency_key = models.CharField(max_length=100)
    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="ingestion")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "idempotency_key"], name="ingested_attempt_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} · {self.idempotency_key}"
