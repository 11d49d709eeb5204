from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from accounts.validators import validate_profile, validate_timezone, validate_username


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=30, validators=[validate_username])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class UserCreatedSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "created_at"]


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="Username or email address.")
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class PasswordResetInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="The `uid` part of the emailed link.")
    token = serializers.CharField(max_length=128, help_text="The `token` part of the emailed link.")
    new_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class VerifyEmailInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512, help_text="The token of the emailed verification link.")


class AccountDeleteInputSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class RefreshInputSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=2048)


class RefreshOutputSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    # A string checked against this host's zoneinfo, not an enum of it: a client must not need the
    # server's tzdata (whose names differ between releases) to be generated or to parse a profile.
    timezone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[validate_timezone],
        help_text="An IANA time zone name, e.g. `Europe/Paris` (400 if unknown); local days and "
        "streaks follow it.",
    )
    profile = serializers.JSONField(required=False, validators=[validate_profile])
    email = serializers.EmailField(max_length=254, required=False)
    email_verified = serializers.BooleanField(
        read_only=True, help_text="Whether the player followed a verification link mailed to `email`."
    )
    pending_email = serializers.CharField(
        read_only=True,
        help_text="A new address asked for, not yet verified; it replaces `email` once its link is followed.",
    )
    leaderboard_visible = serializers.BooleanField(
        required=False,
        help_text="False: you are on no public board (every period, tag and event, other players' "
        "friends boards); you still see your own rank.",
    )
    current_password = serializers.CharField(
        max_length=128,
        write_only=True,
        required=False,
        trim_whitespace=False,
        help_text="Required to change `email`.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "total_xp",
            "level",
            "timezone",
            "profile",
            "leaderboard_visible",
            "is_staff",
            "email_verified",
            "pending_email",
            "current_password",
            "created_at",
        ]
        read_only_fields = [
            "id", "username", "total_xp", "level", "is_staff", "email_verified", "pending_email", "created_at"
        ]  # fmt: skip
