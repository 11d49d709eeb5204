"""What accounts itself holds about a player besides the account row."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.personal_data.registry import Holding, Kept, keep, register


def register_holdings() -> None:
    # Refresh tokens issued (when and until when; not the tokens). Erasure blacklists them all and
    # keeps the rows: deleting one would drop its blacklist entry with it.
    register(
        Holding("sessions", OutstandingToken, "user", ("jti", "created_at", "expires_at"), order_by=("id",))
    )
    keep(Kept(LogEntry, "user", "the admin's own history of what staff changed, kept as staff records"))
