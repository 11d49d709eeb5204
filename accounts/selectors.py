"""Account reads."""

from __future__ import annotations

import uuid

from django.db.models import Q

from accounts.models import User
from skillquest import sql


def user_id_for_login(*, identifier: str) -> uuid.UUID | None:
    """The account a login identifier (username or email, any case) names, as the login backend reads it."""
    if not identifier or len(identifier) > 254 or "\x00" in identifier:
        return None
    return (
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))
        .values_list("pk", flat=True)
        .first()
    )


_USER = sql.Columns(User)
_USER_BY_ID = sql.Statement(
    lambda table: f"SELECT {_USER.select_list('u')} FROM {table(User)} u WHERE u.id = %s",  # noqa: S608 (model metadata only)
    params=[User._meta.pk],
)


def user_by_id(*, user_id: uuid.UUID) -> User | None:
    """The whole user row by primary key, as `User.objects.filter(pk=...).first()` would load it.

    Every JWT-authenticated request reads it; the statement is built once (skillquest.sql).
    """
    found = sql.fetch_one(_USER_BY_ID, [user_id], _USER)
    return found[0] if found else None
