"""Pushing messages to the players' sockets through the channel layer (Redis, or process memory)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from progress.notifications.messages import Message

logger = logging.getLogger("skillquest.live")

# The consumer's handler for a pushed message (`LiveConsumer.live_message`).
PUSH = "live.message"
# How long a publish may hold the committing thread (an award job, a request) before it gives up,
# and how long its two steps may take on the layer's connections before they count as dead (a
# partitioned or crashed host answers nothing and closes nothing).
PUBLISH_TIMEOUT_SECONDS = 10.0
LISTENING_TIMEOUT_SECONDS = 2.0
SENDS_TIMEOUT_SECONDS = 5.0
# Connections idle longer than this are dropped before the next publish, not trusted: a server's
# `timeout`, a NAT or a load balancer may have closed them meanwhile without a word.
IDLE_CONNECTIONS_SECONDS = 60.0
# When each layer last published from this process's publisher loop.
_last_publish: weakref.WeakKeyDictionary[RedisChannelLayer, float] = weakref.WeakKeyDictionary()


def group_name(user_id: uuid.UUID) -> str:
    """The group every socket of one player joins."""
    return f"live.{user_id.hex}"


def publish(messages: Sequence[Message]) -> bool:
    """Send each message to its player's group; False (logged) if the channel layer failed.

    Only ever after the commit of what the messages report (`notifications.notify` schedules it).
    Never raises: the change is committed and kept messages are in the inbox, so a lost push costs a
    player nothing but a reload or a reconnect. The Redis layer is reached from the process's one
    publisher loop (`_PublisherLoop`), whose connections last; one player's messages go in order.
    """
    layer = get_channel_layer()
    if not messages or layer is None:
        return False
    try:
        if isinstance(layer, RedisChannelLayer):
            _publisher.run(_send_all(layer, messages), timeout=PUBLISH_TIMEOUT_SECONDS)
        else:  # process memory (`make run`): on the server's own loop, where its sockets wait
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
    if isinstance(layer, RedisChannelLayer):
        listening = await _listening_afresh_if_dead(layer, list(by_player))
        by_player = {user_id: queue for user_id, queue in by_player.items() if user_id in listening}
    # Every player's sends finish (or fail) before this returns; then the first failure is raised.
    try:
        async with asyncio.timeout(SENDS_TIMEOUT_SECONDS):
            results = await asyncio.gather(
                *(_send_in_order(layer, user_id, queue) for user_id, queue in by_player.items()),
                return_exceptions=True,
            )
    except TimeoutError as timed_out:
        results = [timed_out]
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        if isinstance(layer, RedisChannelLayer):
            # Some sends may have gone out, so none is repeated; the next publish starts on fresh
            # connections rather than on one that failed or hung.
            await _reconnect(layer)
        raise failures[0]


async def _listening_afresh_if_dead(layer: RedisChannelLayer, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """`_listening`, asked again on fresh connections if the loop's kept ones are dead.

    The publisher loop's connections outlive a Redis restart or failover, and the first command
    after one fails on them (or hangs, when the old host is gone without closing them). Nothing is
    sent yet at this point, so asking again repeats no message.
    """
    now = time.monotonic()
    if now - _last_publish.get(layer, now) > IDLE_CONNECTIONS_SECONDS:
        await _reconnect(layer)
    _last_publish[layer] = now
    try:
        async with asyncio.timeout(LISTENING_TIMEOUT_SECONDS):
            return await _listening(layer, user_ids)
    except (RedisConnectionError, RedisTimeoutError, TimeoutError):
        await _reconnect(layer)
    async with asyncio.timeout(LISTENING_TIMEOUT_SECONDS):
        return await _listening(layer, user_ids)


async def _reconnect(layer: RedisChannelLayer) -> None:
    """Close this event loop's connections to the layer (channels_redis keeps one set per loop, in
    `_layers`); the next command opens new ones. Other loops' connections are theirs to close."""
    loop_layer = layer._layers.get(asyncio.get_running_loop())
    if loop_layer is not None:
        await loop_layer.flush()


async def _listening(layer: RedisChannelLayer, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The players with at least one socket: one pipelined ZCARD of their groups per Redis host.

    Most awarded players have no page open; a `group_send` to an empty group still costs two round
    trips, which made pushing most of an award batch's time (bench/README.md, issue 15). A group
    whose socket died without leaving it still counts (its membership expires): that send is wasted,
    never missed.
    """
    by_host: dict[int, list[uuid.UUID]] = defaultdict(list)
    for user_id in user_ids:
        by_host[layer.consistent_hash(group_name(user_id))].append(user_id)
    found: set[uuid.UUID] = set()
    for index, players in by_host.items():
        pipe = layer.connection(index).pipeline(transaction=False)
        for user_id in players:
            pipe.zcard(layer._group_key(group_name(user_id)))  # the layer's own key for the group
        counts = await pipe.execute()
        found.update(user_id for user_id, count in zip(players, counts, strict=True) if count)
    return found


async def _send_in_order(layer: BaseChannelLayer, user_id: uuid.UUID, messages: list[Message]) -> None:
    group = group_name(user_id)
    for message in messages:
        await layer.group_send(group, {"type": PUSH, "message": message.envelope()})


class _PublisherLoop:
    """One event loop per process, in a thread of its own, for every publish to the Redis layer.

    The layer keeps its Redis connections per event loop. With a loop per publish (`async_to_sync`
    from a worker), every award batch connected to Redis, introduced itself (HELLO, CLIENT SETINFO)
    and closed the connection again: 3.5 ms of CPU a publish, most of it not sending anything
    (bench/README.md, issue 15). This loop lives as long as the process and keeps its connections.
    A forked child (RQ's scheduler) starts its own: a thread does not survive a fork. Connections
    that died meanwhile are replaced (`_listening_afresh_if_dead`). Nothing here may call the layer's
    `close_pools()` or `flush()`: they close every loop's connections from the caller's loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, None], *, timeout: float) -> None:
        """Run `coroutine` on the loop and wait for it; its exception, or TimeoutError, is raised here."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or self._pid != os.getpid() or not alive:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True)
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop


_publisher = _PublisherLoop()
