from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from progress.badges import conditions

ICON_MAX_EMOJI_CHARS = 16


def validate_condition(value) -> None:
    try:
        conditions.validate(value)
    except conditions.ConditionError as exc:
        raise ValidationError(str(exc))


def validate_icon(value: str) -> None:
    """An http(s) URL, or a short emoji (no letters, digits or spaces, so no stray text)."""
    if not value:
        return
    if value.startswith(("http://", "https://")):
        URLValidator(schemes=["http", "https"])(value)
        return
    stray_text = any(ch.isspace() or (ch.isascii() and ch.isalnum()) for ch in value)
    if len(value) > ICON_MAX_EMOJI_CHARS or stray_text:
        raise ValidationError("The icon must be an emoji or an http(s) URL.")


class Badge(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    condition = models.JSONField(
        validators=[validate_condition],
        # The types are listed where staff edit badges (admin form, API schema), not here: a new
        # condition type must need no migration.
        help_text='A JSON object with a "type" and its settings, e.g. {"type": "xp", "threshold": 1000}.',
    )
    icon = models.CharField(max_length=500, blank=True, validators=[validate_icon], help_text="Emoji or URL.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def condition_type(self) -> str:
        return self.condition.get("type", "") if isinstance(self.condition, dict) else ""

    @property
    def condition_description(self) -> str:
        return conditions.describe(self.condition)


class UserBadge(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges")
    # PROTECT: badges are never revoked; an awarded badge is deactivated, not deleted.
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    awarded_at = models.DateTimeField(default=timezone.now)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-awarded_at"]
        constraints = [
            # The guarantee behind "at most once per player", even for two concurrent award jobs.
            models.UniqueConstraint(fields=["user", "badge"], name="progress_userbadge_user_badge_unique"),
        ]
        indexes = [models.Index(fields=["awarded_at"], name="userbadge_awarded_at")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.badge_id}"
