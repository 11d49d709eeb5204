"""The socket at `/ws/live/`: a player's messages as they happen, and what they missed while away.

Close codes: 4401 refused (not one of our pages, no or a bad ticket, not signed in), 4429 too many
connects (the reason says when to retry), 1012 reconnect and resume (pushes may have been lost while
the server's channel layer was cut off from Redis). Client to server, one message: `{"type": "resume",
"last_id": <the last id seen, 0 for none>}`, answered with every kept message after it, oldest
first; anything else is answered with an `error` message and changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from progress.live.admission import Admission, admit
from progress.live.publish import PUSH, group_name
from progress.notifications import selectors
from progress.notifications.messages import Message, message
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.live")

REFUSED = 4401
THROTTLED = 4429
# The channel layer's connection to Redis broke and came back: pushes may have been lost meanwhile,
# so the client reconnects and resumes (progress.live.layer).
SERVICE_RESTART = 1012
# A client message is a resume request: anything longer is not one.
MAX_CLIENT_MESSAGE = 1024
MAX_ID = 2**63 - 1


class LiveConsumer(AsyncWebsocketConsumer):
    user_id: uuid.UUID | None = None
    group: str | None = None

    async def connect(self) -> None:
        # Accepted first: a close code (4401) reaches the client only on an open socket; a refused
        # handshake is a bare HTTP 403 that browsers report as 1006 with no reason.
        await self.accept()
        admission: Admission = await database_sync_to_async(admit)(
            headers=self.scope["headers"], query_string=self.scope.get("query_string", b"")
        )
        if admission.user_id is None or admission.refused:
            log_event(
                logger,
                "live_refused",
                reason=admission.refused,
                user_id=str(admission.user_id) if admission.user_id else None,
            )
            if admission.refused == "throttled" and admission.retry_after is not None:
                await self.close(code=THROTTLED, reason=f"retry in {math.ceil(admission.retry_after)} s")
            else:
                await self.close(code=REFUSED)
            return
        self.user_id = admission.user_id
        self.group = group_name(admission.user_id)
        # Ids of kept messages sent on this socket: a message both pushed and found by a resume goes once.
        self.sent: set[int] = set()
        await self.channel_layer.group_add(self.group, self.channel_name)
        log_event(logger, "live_connected", user_id=str(self.user_id))

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            # Redis away (its errors, OSError): the layer forgets the group all the same
            # (progress.live.layer), and the socket is gone either way.
            except Exception:
                logger.warning(
                    "live_group_discard_failed", extra={"user_id": str(self.user_id)}, exc_info=True
                )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
            return
        last_id = _resume_request(text_data)
        if last_id is None:
            await self._send(
                message(
                    self.user_id,
                    "error",
                    detail='Send {"type": "resume", "last_id": <the last id you saw, or 0>}.',
                    code="bad_request",
                ).envelope()
            )
            return
        for missed in await database_sync_to_async(selectors.missed)(user_id=self.user_id, after_id=last_id):
            await self._deliver(missed)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A pushed message straight to its handler. Channels closes the thread's stale database
        connections before every handler, in a hop to a worker thread (`aclose_old_connections`); a
        push reads no database, and at 200 pushes/s those hops were ~10 % of the ws process's CPU
        (bench/README.md, issue 15). Every other message (connect, resume) goes through Channels,
        and its reads through `database_sync_to_async`, which closes them itself."""
        if message["type"] == PUSH:
            await self.live_message(message)
        else:
            await super().dispatch(message)

    async def live_message(self, event: dict[str, Any]) -> None:
        """A message published to the player's group (`progress.live.publish`)."""
        envelope = event["message"]
        if envelope["id"] is not None:
            if envelope["id"] in self.sent:
                return
            self.sent.add(envelope["id"])
        await self._send(envelope)

    async def live_resync(self, event: dict[str, Any]) -> None:
        """`progress.live.layer.RESYNC`: what was pushed while the layer was cut off is lost to this
        socket, so it closes and the client reconnects and resumes from the last kept message it saw."""
        log_event(logger, "live_resync", user_id=str(self.user_id) if self.user_id else None)
        await self.close(code=SERVICE_RESTART)

    async def _deliver(self, kept: Message) -> None:
        if kept.id in self.sent:
            return
        self.sent.add(kept.id)  # type: ignore[arg-type]  # kept messages read back always have an id
        await self._send(kept.envelope())

    async def _send(self, envelope: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(envelope, separators=(",", ":")))


def _resume_request(text: str | None) -> int | None:
    """The `last_id` of a well-formed resume request, else None."""
    if text is None or len(text) > MAX_CLIENT_MESSAGE:
        return None
    try:
        content = json.loads(text)
    except ValueError:
        return None
    if not isinstance(content, dict) or content.get("type") != "resume":
        return None
    last_id = content.get("last_id")
    if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 <= last_id <= MAX_ID:
        return None
    return last_id


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any other path under /ws/: the handshake is refused (HTTP 403) instead of raising in the router."""

    # No channel layer: it never hears a message, and a stray request costs Redis no SUBSCRIBE.
    channel_layer_alias = "none"

    async def connect(self) -> None:
        await self.close()
