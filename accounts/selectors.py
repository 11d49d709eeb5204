"""Account reads."""

from __future__ import annotations

import uuid

from django.db.models import Q

from accounts.models import User


def user_id_for_login(*, identifier: str) -> uuid.UUID | None:
    """The account a login identifier (username or email, any case) names, as the login backend reads it."""
    if not identifier or len(identifier) > 254 or "\x00" in identifier:
        return None
    return (
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))
        .values_list("pk", flat=True)
        .first()
    )
