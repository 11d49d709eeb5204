"""What the audit log holds about a player, for export and erasure (accounts.personal_data)."""

from __future__ import annotations

import uuid

from accounts.personal_data.registry import Holding, register
from skillquest.audit.models import AuditEntry

FIELDS = ("id", "action", "target_type", "target_id", "changes", "created_at")


def _anonymise_actor(user_id: uuid.UUID, anonymous: str) -> None:
    AuditEntry.objects.filter(actor_id=user_id).update(actor_username=anonymous)


def register_holdings() -> None:
    # What the player did as staff, and what staff did to the player (entries naming them as target).
    register(
        Holding(
            "audit_as_actor", AuditEntry, "actor", FIELDS, erase=_anonymise_actor, order_by=("created_at",)
        )
    )
    register(Holding("audit_about_you", AuditEntry, "target_id", FIELDS, order_by=("created_at",)))
