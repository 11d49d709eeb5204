"""What progress holds about a player, for export and erasure (accounts.personal_data)."""

from __future__ import annotations

import uuid

from accounts.personal_data.registry import Holding, Kept, keep, register
from progress.models import EventStanding, Follow, Notification, UserBadge, XpEntry


def register_holdings() -> None:
    # The ledger is append-only and holds no personal data beyond the link to the (anonymised)
    # account: its entries stay, so every total still equals the sum of its entries.
    register(
        Holding(
            "xp_entries",
            XpEntry,
            "user",
            ("id", "amount", "kind", "attempt_id", "reason", "explanation", "created_at"),
            order_by=("created_at", "id"),
        )
    )
    register(
        Holding(
            "badges",
            UserBadge,
            "user",
            ("badge__slug", "badge__name", "awarded_at", "assertion_id", "revoked_at", "revocation_reason"),
            order_by=("awarded_at",),
        )
    )
    # A place in an event's final standings holds nothing personal beyond the link to the account; it
    # stays, so that nobody else's frozen rank moves (an erased player leaves the shown board).
    register(
        Holding(
            "event_standings",
            EventStanding,
            "user",
            ("event__slug", "event__name", "rank", "xp", "level"),
            order_by=("event__ends_at", "event__slug"),
        )
    )
    # Whom a player follows, and who follows them, is theirs: both go with the account.
    register(
        Holding(
            "following",
            Follow,
            "follower",
            ("followed__username", "created_at"),
            erase=lambda user_id, _name: Follow.objects.filter(follower_id=user_id).delete(),
            order_by=("created_at", "id"),
        )
    )
    register(
        Holding(
            "followers",
            Follow,
            "followed",
            ("follower__username", "created_at"),
            erase=lambda user_id, _name: Follow.objects.filter(followed_id=user_id).delete(),
            order_by=("created_at", "id"),
        )
    )
    # What the player was told (badge names, staff's reasons for grants): exported, and gone with the
    # account; the facts they reported stay in the ledger and the badges above.
    register(
        Holding(
            "notifications",
            Notification,
            "user",
            ("id", "type", "data", "created_at", "read_at"),
            erase=_notifications_erase,
            order_by=("id",),
        )
    )
    keep(
        Kept(
            XpEntry, "actor", "grants a staff member made stay in the ledger, credited to the anonymised name"
        )
    )
    keep(
        Kept(UserBadge, "revoked_by", "revocations a staff member made stay, credited to the anonymised name")
    )


def _notifications_erase(user_id: uuid.UUID, anonymous_username: str) -> None:
    Notification.objects.filter(user_id=user_id).delete()
