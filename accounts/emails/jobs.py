"""Sending account emails on the worker. Jobs take an address or an id and re-read the player.

A job retried after an SMTP failure may deliver a second copy; both links work and say the same, so
a duplicate is harmless, and a request never waits for (or fails with) the mail server.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.emails.messages import duration_words, message_build
from accounts.emails.tokens import verification_token
from accounts.models import User
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.accounts.emails")


def reset_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"{settings.SITE_URL}/accounts/password/reset/{uid}/{default_token_generator.make_token(user)}/"


def verification_link(user: User, email: str) -> str:
    token = verification_token(user_id=user.pk, email=email)
    return f"{settings.SITE_URL}/accounts/verify-email/{token}/"


def send_password_reset(email: str) -> int:
    """Mail a reset link to the active player using `email`; returns how many were sent (0 or 1).

    An unknown address sends nothing and says nothing: the request that scheduled this answered
    the same either way, and did the same work (it only scheduled this job).
    """
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True):
        if not user.has_usable_password():
            continue
        valid_for = duration_words(settings.PASSWORD_RESET_TIMEOUT)
        context = {"user": user, "link": reset_link(user), "valid_for": valid_for}
        message_build(kind="password_reset", to=user.email, context=context).send()
        sent += 1
        log_event(logger, "password_reset_sent", user_id=str(user.pk))
    return sent


def send_email_verification(user_id: str) -> bool:
    """Mail a verification link to the address the player asked for (`pending_email`), else to their
    current address unless it is verified already."""
    user = User.objects.filter(pk=uuid.UUID(user_id), is_active=True).first()
    if user is None:
        return False
    to = user.pending_email or ("" if user.email_verified else user.email)
    if not to:
        return False
    valid_for = duration_words(settings.EMAIL_VERIFICATION_TIMEOUT)
    context = {"user": user, "email": to, "link": verification_link(user, to), "valid_for": valid_for}
    message_build(kind="verify_email", to=to, context=context).send()
    log_event(logger, "verification_sent", user_id=str(user.pk))
    return True


def send_email_change_notice(user_id: str, old_email: str) -> bool:
    """Tell the old address that a new one was asked for (if it was not the player, they can act)."""
    user = User.objects.filter(pk=uuid.UUID(user_id), is_active=True).first()
    if user is None or not user.pending_email:
        return False
    reset = f"{settings.SITE_URL}/accounts/password/reset/"
    context = {"user": user, "new_email": user.pending_email, "link": reset}
    message_build(kind="email_change_notice", to=old_email, context=context).send()
    log_event(logger, "email_change_notice_sent", user_id=str(user.pk))
    return True
