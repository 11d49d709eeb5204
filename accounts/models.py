from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

from accounts.validators import validate_profile, validate_timezone, validate_username


class UserManager(DjangoUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=username)


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        max_length=30,
        unique=True,
        validators=[validate_username],
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    profile = models.JSONField(default=dict, blank=True, validators=[validate_profile])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    total_xp = models.IntegerField(default=0, db_index=True)
    level = models.IntegerField(default=1)
    # Raised by "sign out everywhere" (accounts.services.user_sign_out_everywhere): part of the
    # session hash below, so every session signed in before it no longer verifies. A database default
    # too: the seed's bulk COPY names only the columns it fills.
    session_epoch = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # When the player proved they read mail at `email` (accounts.emails); None: not (yet) proven.
    email_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A new address the player asked for, kept here until its own verification link is followed;
    # `email` stays the old one meanwhile (logins, resets and mail still go there).
    pending_email = models.EmailField(max_length=254, blank=True, default="", db_default="", editable=False)
    # Off: the player is on no public board (every period, tag and event, other players' friends
    # boards); they still see their own rank. A database default too, for the seed's bulk COPY.
    leaderboard_visible = models.BooleanField(default=True, db_default=True)

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that email already exists.",
            ),
            models.CheckConstraint(condition=models.Q(total_xp__gte=0), name="accounts_user_total_xp_gte_0"),
            models.CheckConstraint(condition=models.Q(level__gte=1), name="accounts_user_level_gte_1"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, plus the sign-out epoch once there has been one.

        Django ends a session whose stored hash no longer matches, so a password change (Django's
        own rule) and a raised epoch both end every session. At epoch 0 the hash is Django's own,
        so sessions from before this field existed stay valid.
        """
        if not self.session_epoch:
            return super().get_session_auth_hash()
        return self._epoch_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        if not self.session_epoch:
            yield from super().get_session_auth_fallback_hash()
            return
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._epoch_hash(secret=secret)

    def _epoch_hash(self, *, secret: str | bytes | None) -> str:
        return salted_hmac(
            "skillquest.accounts.User.session",
            f"{self.password}\x00{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()
