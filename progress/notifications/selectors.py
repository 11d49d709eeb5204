"""Reading a player's notifications: the inbox, what a socket missed, the bell."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet

from progress.models import Notification
from progress.notifications.messages import Message

# A socket that was away longer is sent the newest this many; the inbox has the rest.
RESUME_LIMIT = 100


def inbox(*, user_id: uuid.UUID, unread: bool = False) -> QuerySet[Notification]:
    """The player's notifications, newest first (`unread`: only those not read yet)."""
    rows = Notification.objects.filter(user_id=user_id)
    return rows.filter(read_at__isnull=True) if unread else rows


def missed(*, user_id: uuid.UUID, after_id: int, limit: int = RESUME_LIMIT) -> list[Message]:
    """The player's kept messages after `after_id`, oldest first (at most the newest `limit`)."""
    rows = list(inbox(user_id=user_id).filter(pk__gt=after_id).order_by("-id")[:limit])
    return [
        Message(user_id=row.user_id, type=row.type, data=row.data, created_at=row.created_at, id=row.pk)
        for row in reversed(rows)
    ]


@dataclass(frozen=True)
class Bell:
    unread: int
    last_id: int  # the newest notification's id (0: none yet): a page's socket resumes after it


def bell(*, user_id: uuid.UUID) -> Bell:
    """The unread count and the newest id, in one query (every page of a signed-in player shows it)."""
    counts = inbox(user_id=user_id).aggregate(
        unread=Count("pk", filter=Q(read_at__isnull=True)), last_id=Max("pk")
    )
    return Bell(unread=counts["unread"], last_id=counts["last_id"] or 0)
