"""Email-verification tokens: a signed (player, address) pair with a timestamp. Pure, no I/O.

The token names the address it was sent to, so a link mailed to an old address proves nothing once
the player has changed it. Password-reset tokens are Django's own (`default_token_generator`): they
die with the password they reset, which makes each link work once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "skillquest.accounts.verify-email"


@dataclass(frozen=True)
class Verification:
    user_id: uuid.UUID
    email: str


def verification_token(*, user_id: uuid.UUID, email: str) -> str:
    return signing.dumps({"u": str(user_id), "e": email.lower()}, salt=SALT, compress=True)


def verification_read(token: str) -> Verification | None:
    """The (player, address) a token vouches for; None if it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFICATION_TIMEOUT)
        return Verification(user_id=uuid.UUID(data["u"]), email=str(data["e"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
