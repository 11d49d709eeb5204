"""Account state changes: registration, profile updates, tokens."""

from __future__ import annotations

from functools import partial

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone as django_timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.emails import jobs as email_jobs
from accounts.models import User
from accounts.signals import leaderboard_visibility_changed
from skillquest.queue import enqueue


def user_identity_conflicts(
    *, username: str | None, email: str | None, exclude_id=None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    others = User.objects.exclude(pk=exclude_id) if exclude_id else User.objects.all()
    if username is not None and others.filter(username__iexact=username).exists():
        errors["username"] = ["A user with that username already exists."]
    if email is not None and others.filter(email__iexact=email).exists():
        errors["email"] = ["A user with that email already exists."]
    return errors


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> User:
    """Create a player. Raises ValidationError (field -> messages) for taken names or a weak password."""
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    errors = user_identity_conflicts(username=username, email=email)
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    candidate.set_password(password)
    try:
        # The case-insensitive unique constraints decide races between two identical sign-ups.
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise ValidationError(
            user_identity_conflicts(username=username, email=email) or {"username": ["Already taken."]}
        )
    email_verification_schedule(user=candidate)
    return candidate


def email_verification_schedule(*, user: User) -> None:
    """Mail (from the worker, after commit) a link that verifies the player's current address."""
    transaction.on_commit(partial(enqueue, email_jobs.send_email_verification, str(user.pk)))


@transaction.atomic
def user_update_profile(
    *,
    user: User,
    email: str | None = None,
    current_password: str | None = None,
    timezone: str | None = None,
    profile=None,
    leaderboard_visible: bool | None = None,
) -> User:
    """Update the player's own settings. A new email address needs the current password and is only
    requested: it waits in `pending_email`, with a link mailed to it and a notice to the old address,
    and replaces `email` when the link is followed (`accounts.emails.services.email_verify`)."""
    fields: list[str] = []
    if email is not None:
        email = User.objects.normalize_email(email.strip())
        if email.lower() == user.email.lower():
            if user.email != email or user.pending_email:  # a change of case, or a change withdrawn
                user.email, user.pending_email = email, ""
                fields += ["email", "pending_email"]
        else:
            errors = user_identity_conflicts(username=None, email=email, exclude_id=user.pk)
            if not current_password:
                errors["current_password"] = ["Enter your current password to change your email address."]
            elif not user.check_password(current_password):
                errors["current_password"] = ["The current password is not correct."]
            if errors:
                raise ValidationError(errors)
            if email.lower() != user.pending_email.lower():
                old_email = user.email
                user.pending_email = email
                fields.append("pending_email")
                email_verification_schedule(user=user)
                transaction.on_commit(
                    partial(enqueue, email_jobs.send_email_change_notice, str(user.pk), old_email)
                )
    if timezone is not None:
        user.timezone = timezone
        fields.append("timezone")
    if profile is not None:
        user.profile = profile
        fields.append("profile")
    shown_changed = leaderboard_visible is not None and leaderboard_visible != user.leaderboard_visible
    if shown_changed:
        user.leaderboard_visible = bool(leaderboard_visible)
        fields.append("leaderboard_visible")
    if fields:
        try:
            with transaction.atomic():
                user.save(update_fields=fields)
                if shown_changed:
                    # The boards (progress) take the player off or put them back once this commits.
                    leaderboard_visibility_changed.send(
                        sender=User, user_id=user.pk, username=user.username, visible=user.leaderboard_visible
                    )
        except IntegrityError:
            raise ValidationError({"email": ["A user with that email already exists."]})
    return user


# The player's session epoch when a token was issued; accounts.authentication refuses the token once
# the epoch has moved on ("sign out everywhere"). Refreshed access tokens inherit the claim.
SESSION_EPOCH_CLAIM = "sep"


def tokens_issue(*, user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_EPOCH_CLAIM] = user.session_epoch
    return {"refresh_token": str(refresh), "access_token": str(refresh.access_token)}


def token_revoke(*, refresh_token: str) -> None:
    """Blacklist a refresh token. Raises TokenError if it is invalid, expired or already revoked."""
    # simplejwt annotates the argument as a Token; it takes (and here gets) the encoded string.
    token = RefreshToken(refresh_token)  # type: ignore[arg-type]
    token.blacklist()


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> int:
    """End every way the player is signed in; returns how many refresh tokens it revoked.

    Every unexpired refresh token is blacklisted (no device can get a new access token), and the
    session epoch is raised: access tokens issued before it are refused (their `sep` claim is
    stale) and every browser session stops verifying (`User.get_session_auth_hash`).
    """
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=django_timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    return len(revoked)


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> dict[str, str]:
    """Change the password and sign out every other device; returns fresh tokens for this one.

    Raises ValidationError (nothing changed) if the current password is wrong or the new one fails
    the password validators.
    """
    if not user.check_password(current_password):
        raise ValidationError({"current_password": ["The current password is not correct."]})
    user_set_password(user=user, new_password=new_password)
    return tokens_issue(user=user)


@transaction.atomic
def user_set_password(*, user: User, new_password: str) -> None:
    """Set a new password and end every session and refresh token of the player (a change from
    the profile, a reset from an emailed link). Raises ValidationError({"new_password": ...}),
    nothing changed, when the password validators refuse it."""
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages})
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_sign_out_everywhere(user=user)


__all__ = [
    "TokenError",
    "email_verification_schedule",
    "token_revoke",
    "tokens_issue",
    "user_change_password",
    "user_identity_conflicts",
    "user_register",
    "user_set_password",
    "user_sign_out_everywhere",
    "user_update_profile",
]
