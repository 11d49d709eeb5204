"""The email flows' state changes: request and complete a password reset, verify an address."""

from __future__ import annotations

import uuid
from functools import partial

from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.emails import jobs
from accounts.emails.tokens import verification_read
from accounts.models import User
from accounts.services import email_verification_schedule, user_set_password
from skillquest.errors import EmailAlreadyVerified, EmailTaken, InvalidToken
from skillquest.queue import enqueue


def password_reset_request(*, email: str) -> None:
    """Schedule a reset link for whoever uses `email`. The same work whether or not anyone does:
    the job looks the address up, so neither the answer nor its timing tells who has an account."""
    transaction.on_commit(
        partial(enqueue, jobs.send_password_reset, User.objects.normalize_email(email.strip()))
    )


def password_reset_user(*, uidb64: str, token: str) -> User:
    """The player a reset link is for; InvalidToken if it is forged, expired or already used."""
    try:
        user = User.objects.get(pk=uuid.UUID(force_str(urlsafe_base64_decode(uidb64))), is_active=True)
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        raise InvalidToken()
    if not default_token_generator.check_token(user, token):
        raise InvalidToken()
    return user


def password_reset_complete(*, user: User, new_password: str) -> None:
    """Set a new password from a reset link (`user_set_password`: every session and token ends).

    The token dies with the old password (Django's token hashes it), so a link works once.
    """
    user_set_password(user=user, new_password=new_password)


def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    user = password_reset_user(uidb64=uidb64, token=token)
    password_reset_complete(user=user, new_password=new_password)
    return user


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Verify the address a link was mailed to: the player's current one, or the new one they asked
    for, which then replaces it. InvalidToken if the link is forged or expired, or names an address
    the player neither uses nor asked for; EmailTaken if someone else took the new address meanwhile.
    Following a link twice changes nothing."""
    found = verification_read(token)
    if found is None:
        raise InvalidToken()
    user = User.objects.select_for_update().filter(pk=found.user_id, is_active=True).first()
    if user is None:
        raise InvalidToken()
    if user.pending_email and user.pending_email.lower() == found.email:
        user.email, user.pending_email = user.pending_email, ""
        user.email_verified_at = timezone.now()
        try:
            with transaction.atomic():
                user.save(update_fields=["email", "pending_email", "email_verified_at"])
        except IntegrityError:
            raise EmailTaken()
    elif user.email.lower() == found.email:
        if not user.email_verified:
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
    else:
        raise InvalidToken()
    return user


def email_verification_resend(*, user: User) -> None:
    if user.email_verified and not user.pending_email:
        raise EmailAlreadyVerified()
    email_verification_schedule(user=user)
