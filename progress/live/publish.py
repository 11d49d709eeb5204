"""Pushing messages to the players' sockets through the channel layer (Redis, or process memory)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer

from progress.notifications.messages import Message

logger = logging.getLogger("skillquest.live")

# The consumer's handler for a pushed message (`LiveConsumer.live_message`).
PUSH = "live.message"


def group_name(user_id: uuid.UUID) -> str:
    """The group every socket of one player joins."""
    return f"live.{user_id.hex}"


def publish(messages: Sequence[Message]) -> bool:
    """Send each message to its player's group; False (logged) if the channel layer failed.

    Only ever after the commit of what the messages report (`notifications.notify` schedules it).
    Never raises: the change is committed and kept messages are in the inbox, so a lost push costs a
    player nothing but a reload or a reconnect. One event loop for the whole batch, so a batch of
    awards costs one connection to the layer, not one per message; one player's messages go in order.
    """
    layer = get_channel_layer()
    if not messages or layer is None:
        return False
    try:
        async_to_sync(_send_all)(layer, messages)
    # The layer's failures have no common class (Redis errors, OSError, ChannelFull, timeouts).
    except Exception:
        user_ids = sorted({str(message.user_id) for message in messages})
        logger.warning("live_publish_failed", extra={"user_ids": user_ids}, exc_info=True)
        return False
    return True


async def _send_all(layer: BaseChannelLayer, messages: Sequence[Message]) -> None:
    by_player: dict[uuid.UUID, list[Message]] = {}
    for message in messages:
        by_player.setdefault(message.user_id, []).append(message)
    # Every player's sends finish (or fail) before the loop closes; then the first failure is raised.
    results = await asyncio.gather(
        *(_send_in_order(layer, user_id, queue) for user_id, queue in by_player.items()),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        raise failures[0]


async def _send_in_order(layer: BaseChannelLayer, user_id: uuid.UUID, messages: list[Message]) -> None:
    group = group_name(user_id)
    for message in messages:
        await layer.group_send(group, {"type": PUSH, "message": message.envelope()})
