"""Telling players: store what is kept, push everything once the change it reports has committed."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

from progress.live.publish import publish
from progress.models import Notification
from progress.notifications.messages import Message
from skillquest.errors import NotificationNotFound


def notify(messages: Sequence[Message]) -> list[Message]:
    """Store the kept messages as Notification rows and push all of them after commit; return them
    with their ids.

    Call it inside the transaction of the change the messages report, holding the players' row
    locks (as the award job and grants do): the rows then commit, or roll back, with the change,
    and one player's ids grow in commit order (a socket's resume relies on it). The push waits for
    the commit, so no player hears of an award that was rolled back; a failed push is logged by
    `publish` and changes nothing here.
    """
    if not messages:
        return []
    kept = [message for message in messages if message.kept]
    rows = Notification.objects.bulk_create(
        [
            Notification(
                user_id=message.user_id, type=message.type, data=message.data, created_at=message.created_at
            )
            for message in kept
        ]
    )
    ids = {id(message): row.pk for message, row in zip(kept, rows, strict=True)}
    stored = [dataclasses.replace(message, id=ids.get(id(message))) for message in messages]
    transaction.on_commit(partial(publish, stored), robust=True)
    return stored


def notifications_mark_read(*, user_id: uuid.UUID, ids: Sequence[int] | None = None) -> int:
    """Mark the player's notifications read (the given ids, or all); return how many changed.

    Already read ones stay as they were (marking twice is harmless). An id that is not one of the
    player's is 404 for the whole request, nothing marked: another player's ids look like unknown ones.
    """
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if ids is not None:
        wanted = set(ids)
        owned = set(Notification.objects.filter(user_id=user_id, pk__in=wanted).values_list("pk", flat=True))
        if owned != wanted:
            raise NotificationNotFound()
        unread = unread.filter(pk__in=wanted)
    return unread.update(read_at=timezone.now())
