"""Pushing messages to the players' sockets through the channel layer (Redis, or process memory)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Coroutine, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from progress.live.layer import LiveChannelLayer, LoopLayer
from progress.notifications.messages import Message

logger = logging.getLogger("skillquest.live")

# The consumer's handler for a pushed message (`LiveConsumer.live_message`).
PUSH = "live.message"
# How long a publish may hold the committing thread (an award job, a request) before it gives up,
# and how long its sends may take on the layer's connections before they count as dead (a
# partitioned or crashed host answers nothing and closes nothing).
PUBLISH_TIMEOUT_SECONDS = 10.0
SENDS_TIMEOUT_SECONDS = 5.0
# Connections idle longer than this are dropped before the next publish, not trusted: a server's
# `timeout`, a NAT or a load balancer may have closed them meanwhile without a word.
IDLE_CONNECTIONS_SECONDS = 60.0
# When each layer last published from this process's publisher loop.
_last_publish: weakref.WeakKeyDictionary[LiveChannelLayer, float] = weakref.WeakKeyDictionary()


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
        if isinstance(layer, LiveChannelLayer):
            _publisher.run(_publish_to_redis(layer, messages), timeout=PUBLISH_TIMEOUT_SECONDS)
        else:  # process memory (`make run`): on the server's own loop, where its sockets wait
            async_to_sync(_send_all)(layer, messages)
    # The layer's failures have no common class (Redis errors, OSError, ChannelFull, timeouts).
    except Exception:
        user_ids = sorted({str(message.user_id) for message in messages})
        logger.warning("live_publish_failed", extra={"user_ids": user_ids}, exc_info=True)
        return False
    return True


async def _publish_to_redis(layer: LiveChannelLayer, messages: Sequence[Message]) -> None:
    """Each message a PUBLISH to its player's group channel, in order, in one pipelined round trip per
    Redis host. Most awarded players have no page open: a PUBLISH nobody hears costs Redis a lookup,
    less than asking first who listens.

    The loop's connections outlive a Redis restart or failover, and the first command after one finds
    its connection closed: then the messages go once more on fresh connections. The old server had
    closed it before this publish wrote anything, so nothing goes twice (short of a server that dies
    between running the commands and answering them: a push twice, which the page shows once).
    Any other failure repeats nothing, and the next publish starts on fresh connections rather than
    on ones that failed or hung. Connections idle too long are not trusted.
    """
    loop_layer = layer.for_this_loop()
    now = time.monotonic()
    if now - _last_publish.get(layer, now) > IDLE_CONNECTIONS_SECONDS:
        await loop_layer.flush()
    _last_publish[layer] = now
    sends = [
        (group_name(message.user_id), layer.serialize({"type": PUSH, "message": message.envelope()}))
        for message in messages
    ]
    try:
        async with asyncio.timeout(SENDS_TIMEOUT_SECONDS):
            try:
                await _publish_pipelined(loop_layer, sends)
            except RedisConnectionError:
                await loop_layer.flush()
                await _publish_pipelined(loop_layer, sends)
    except Exception:
        await loop_layer.flush()  # this loop's connections only
        raise


async def _publish_pipelined(loop_layer: LoopLayer, sends: list[tuple[str, bytes]]) -> None:
    by_host: dict[int, tuple[Redis, list[tuple[str, bytes]]]] = {}
    for group, data in sends:
        client, channel = loop_layer.publisher(group)
        by_host.setdefault(id(client), (client, []))[1].append((channel, data))
    for client, publishes in by_host.values():
        pipe = client.pipeline(transaction=False)
        for channel, data in publishes:
            pipe.publish(channel, data)
        await pipe.execute()


async def _send_all(layer: BaseChannelLayer, messages: Sequence[Message]) -> None:
    """Process memory's way: a `group_send` per message, each player's in order."""
    by_player: dict[uuid.UUID, list[Message]] = {}
    for message in messages:
        by_player.setdefault(message.user_id, []).append(message)
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


class _PublisherLoop:
    """One event loop per process, in a thread of its own, for every publish to the Redis layer.

    The layer keeps its Redis connections per event loop. With a loop per publish (`async_to_sync`
    from a worker), every award batch connected to Redis, introduced itself (HELLO, CLIENT SETINFO)
    and closed the connection again: 3.5 ms of CPU a publish, most of it not sending anything
    (bench/README.md, issue 15). This loop lives as long as the process and keeps its connections.
    A forked child (RQ's scheduler) starts its own: a thread does not survive a fork. Connections
    that died meanwhile are replaced: a publish that finds its connection closed (a Redis restart or
    failover) goes again on fresh ones, any other failure drops the loop's connections, and so does
    a long idle spell (`_publish_to_redis`).
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
