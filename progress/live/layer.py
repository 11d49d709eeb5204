"""The channel layer the ws process and the workers use when Redis is configured."""

from __future__ import annotations

from channels_redis import core

# How long the layer's receive blocks in Redis (BZPOPMIN) before it asks again.
RECEIVE_BLOCK_SECONDS = 2


class RedisChannelLayer(core.RedisChannelLayer):
    """channels_redis' layer, blocking in BZPOPMIN for less than its connections' read timeout.

    redis-py 8 gives every connection a 5 s read timeout (`DEFAULT_SOCKET_TIMEOUT`) and
    channels_redis blocks for 5 s, so Redis' empty answer and the client's timeout raced: when the
    timeout won, the consumer whose receive held the layer's lock ended with "Timeout reading from
    ..." and its socket closed (one socket of 2,000 idle ones in bench/live.py). Blocking 2 s leaves
    3 s for a busy event loop to read the answer; an idle ws process asks Redis every 2 s, not 5.
    """

    brpop_timeout = RECEIVE_BLOCK_SECONDS
