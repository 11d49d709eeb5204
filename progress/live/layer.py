"""The channel layer of the live sockets: channels_redis' pub/sub layer, which tells its sockets when
its Redis connection came back.

Why pub/sub and not channels_redis' core layer. The core layer delivers through lists in Redis: every
message a `ws` process receives costs it four commands (a clean-up script, BZPOPMIN, and a backup
queue's ZADD and ZPOPMIN), and every group send a ZRANGE and a script. At 200 pushes/s that was
~0.17 of a core in daphne, ~0.05 in Redis and more in the award workers (bench/README.md, issue 15).
With pub/sub a process SUBSCRIBEs to its sockets' groups and Redis pushes each PUBLISH down that one
connection: nothing per message on the receiving side, and a batch's messages go out in one
pipelined round trip (`progress.live.publish`).

What pub/sub gives up, and how it is made up for. A message published while nobody subscribes is
dropped, as the core layer drops one for an empty group; but a `ws` process whose connection to
Redis broke (a restart, a failover) stays subscribed in its own eyes, and its sockets stay open,
while what was published in the gap is lost. So when that connection comes back (redis-py
re-subscribes on reconnect), every socket of the process is told (`RESYNC`) and closes with 1012
(service restart): the page reconnects, resumes from the last kept message it saw and reads its
attempt once, as after a `ws` restart. Nothing kept is missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

logger = logging.getLogger("skillquest.live")

# The message every socket of a process gets when the process's subscriptions came back after a
# broken connection (`LiveConsumer.live_resync`).
RESYNC = "live.resync"


class LiveChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` whose per-loop layers tell their sockets about a reconnect."""

    def for_this_loop(self) -> LoopLayer:
        """This event loop's layer (channels_redis keeps one per loop, with its own connections)."""
        return self._get_layer()

    def _get_layer(self) -> LoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)  # flushed when its loop closes, as channels_redis does
            return layer


class LoopLayer(RedisPubSubLoopLayer):
    """One event loop's layer: its shards are `_Shard`s."""

    def __init__(self, hosts: Any = None, **kwargs: Any) -> None:
        super().__init__(hosts, **kwargs)
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

    async def _subscribe_to_channel(self, channel: str) -> None:
        """A new socket's channel; undone if the SUBSCRIBE fails (Redis away), or its queue would stay
        for ever: the socket's `receive`, which cleans up, never runs."""
        try:
            await super()._subscribe_to_channel(channel)
        except Exception:
            self.channels.pop(channel, None)
            raise

    async def group_add(self, group: str, channel: str) -> None:
        """channels_redis' `group_add`, undone here if the group's SUBSCRIBE fails."""
        try:
            await super().group_add(group, channel)
        except Exception:
            group_channel = self._get_group_channel_name(group)
            members = self.groups.get(group_channel)
            if members is not None:
                members.discard(channel)
                if not members:
                    del self.groups[group_channel]
            raise

    def resync(self) -> None:
        """Tell every socket of this loop that messages may have been lost (`RESYNC`)."""
        told = self.channel_layer.serialize({"type": RESYNC})
        for queue in self.channels.values():
            queue.put_nowait(told)
        logger.warning("live_layer_reconnected", extra={"sockets": len(self.channels)})

    def publisher(self, group: str) -> tuple[aioredis.Redis, str]:
        """The Redis client of the shard that carries `group`, and the group's channel: to PUBLISH to."""
        channel = self._get_group_channel_name(group)
        shard = self._get_shard(channel)
        shard._ensure_redis()
        assert shard._redis is not None
        return shard._redis, channel


class _Shard(RedisSingleShardConnection):
    """A shard whose subscriber connection reports each reconnect to its loop layer, and whose receive
    loop logs a broken connection once instead of a traceback a second."""

    _redis: aioredis.Redis | None
    _pubsub: PubSub | None

    def _ensure_redis(self) -> None:
        if self._redis is None:
            pool = create_pool(self.host)
            self._redis = aioredis.Redis(connection_pool=pool)
            self._pubsub = _ReconnectReportingPubSub(pool, reconnected=self.channel_layer.resync)

    async def subscribe(self, channel: str) -> None:
        await _uninterrupted(super().subscribe(channel))

    async def unsubscribe(self, channel: str) -> None:
        """channels_redis' `unsubscribe`; when it fails (Redis away) the channel is forgotten all the
        same, and the reconnect does not subscribe it again (`_ReconnectReportingPubSub.on_connect`)."""
        try:
            await _uninterrupted(super().unsubscribe(channel))
        except Exception:
            self._subscribed_to.discard(channel)
            raise

    async def _do_receiving(self) -> None:
        broken = False
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    connection = self._pubsub.connection
                    if connection is not None and not connection.is_connected:
                        # Under the lock a socket's SUBSCRIBE holds: two reconnects at once would open
                        # two sockets and interleave their handshakes.
                        async with self._lock:
                            if not connection.is_connected:
                                await connection.connect()  # re-subscribes and resyncs (on_connect)
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    broken = False
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            # redis-py's errors, OSError, a timeout: whatever it was, the connection is dropped, so
            # that the next turn reconnects, re-subscribes and resyncs rather than read on from a
            # stream that may be out of step.
            except Exception:
                if not broken:
                    logger.warning("live_layer_disconnected", exc_info=True)
                    broken = True
                if self._pubsub is not None and self._pubsub.connection is not None:
                    await self._pubsub.connection.disconnect()
                await asyncio.sleep(1)


async def _uninterrupted(command: Coroutine[Any, Any, None]) -> None:
    """Await a (un)subscribe to its end even if the caller is cancelled meanwhile (a closing socket's
    clean-up often is): redis-py drops a connection whose command was cancelled half-sent, and here
    that is the connection every socket of the process listens on, so each would be told to resync."""
    task = asyncio.ensure_future(command)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved, not logged
    await asyncio.shield(task)


class _ReconnectReportingPubSub(PubSub):
    """redis-py's PubSub: `on_connect` runs on every reconnect of its connection (never on the first
    connect, made before the callback is registered), and re-subscribes; then `reconnected` is called."""

    def __init__(self, connection_pool: aioredis.ConnectionPool, *, reconnected: Callable[[], None]) -> None:
        super().__init__(connection_pool)
        self._reconnected = reconnected

    async def on_connect(self, connection: Any) -> None:
        # Channels whose UNSUBSCRIBE failed with the connection (a socket closed while Redis was
        # away) are not subscribed again: redis-py would, for ever, since no reply ever removes them.
        for channel in self.pending_unsubscribe_channels:
            self.channels.pop(channel, None)
        await super().on_connect(connection)
        self._reconnected()
