"""The live message types and their envelope. Pure: no I/O.

Every message a player's socket receives is `{"id", "type", "created_at", "data"}`. Types that are
`kept` are also stored as `Notification` rows (the inbox; a socket's resume): their `id` is the row's.
`xp_awarded` is not kept, because every award is already on its attempt (`GET /api/v1/attempts/{id}`)
and in the ledger; its `id` is null and it is never replayed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class MessageType:
    fields: tuple[str, ...]
    kept: bool = True  # stored as a Notification: in the inbox, counted by the bell, replayed on resume


# Adding a type (a quest completed, an event joined) is one line here, and a `notify` where it happens.
TYPES: dict[str, MessageType] = {
    "xp_awarded": MessageType(("attempt_id", "amount", "total_xp"), kept=False),
    "level_up": MessageType(("level",)),
    "badge_awarded": MessageType(("badge",)),
    # An award's bonus for counting in a live event (in the ledger, like the award: not kept).
    "event_bonus": MessageType(("attempt_id", "amount", "total_xp"), kept=False),
    # A daily quest's target reached: its reward is paid (progress.quests).
    "quest_completed": MessageType(("quest_id", "name", "reward_xp", "total_xp")),
    # A staff grant; a revocation is a grant of a negative amount (as in POST /api/v1/admin/xp-grants).
    "xp_granted": MessageType(("amount", "reason")),
    # The socket's answer to a client message it cannot use; never published to a group.
    "error": MessageType(("detail", "code"), kept=False),
}


class UnknownMessage(ValueError):
    pass


@dataclass(frozen=True)
class Message:
    """One message for one player; `id` is set once a kept message has its Notification row."""

    user_id: uuid.UUID
    type: str
    data: dict[str, Any]
    created_at: datetime = field(default_factory=timezone.now)
    id: int | None = None

    @property
    def kept(self) -> bool:
        return TYPES[self.type].kept

    def envelope(self) -> dict[str, Any]:
        """What the socket sends: JSON-ready, without the player (it goes only to them)."""
        return {
            "id": self.id,
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "data": self.data,
        }


def message(user_id: uuid.UUID, type: str, *, created_at: datetime | None = None, **data: Any) -> Message:
    """A message of a known type with exactly that type's fields (a typo fails here, not in a page)."""
    known = TYPES.get(type)
    if known is None:
        raise UnknownMessage(f"No message type {type!r}.")
    if set(data) != set(known.fields):
        raise UnknownMessage(f"{type} takes {sorted(known.fields)}, not {sorted(data)}.")
    return Message(
        user_id=user_id,
        type=type,
        data={name: data[name] for name in known.fields},
        created_at=created_at or timezone.now(),
    )


def badge_data(badge: Any) -> dict[str, str]:
    """What a page shows of a badge in a toast: kept in the message as it was when it was earned."""
    return {"slug": badge.slug, "name": badge.name, "icon": badge.icon, "description": badge.description}
