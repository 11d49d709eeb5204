"""The channel layer's receive outlasts its connections' read timeout on a quiet channel."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from redis.asyncio.connection import Connection

from progress.live.layer import RedisChannelLayer
from skillquest.tests.helpers import run_in_own_loop


def test_the_site_runs_on_this_layer_and_blocks_well_within_the_read_timeout():
    assert isinstance(get_channel_layer(), RedisChannelLayer)
    # redis-py's default read timeout, which the site's layer connections keep.
    read_timeout = Connection().socket_timeout
    assert read_timeout is not None
    assert read_timeout - RedisChannelLayer.brpop_timeout >= 2


def test_a_receive_waits_on_a_quiet_channel_longer_than_the_read_timeout_then_gets_its_message():
    # Connections that give up reading after 2.5 s: channels_redis' own layer (5 s in BZPOPMIN)
    # raises redis' TimeoutError here after 2.5 s, as it did at 5 s against 5 s under load.
    layer = RedisChannelLayer(
        hosts=[{"address": settings.REDIS_URL, "socket_timeout": 2.5}],
        prefix=f"test-layer-{uuid.uuid4().hex}:",
    )

    async def scenario() -> dict:
        channel = await layer.new_channel()
        with pytest.raises(asyncio.TimeoutError):  # ours: still waiting when we stop it
            await asyncio.wait_for(layer.receive(channel), timeout=3.5)
        await layer.send(channel, {"type": "after.quiet"})
        received = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await layer.flush()
        return received

    assert run_in_own_loop(scenario)["type"] == "after.quiet"
