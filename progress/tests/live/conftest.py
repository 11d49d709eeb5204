"""Sockets through the real ASGI application (`skillquest.asgi`) with Channels' WebsocketCommunicator,
on the suite's Redis (the channel layer, the tickets, the connect limits)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from skillquest.asgi import application

ORIGIN = (b"origin", b"http://testserver")  # a page of ours: Django's test host is allowed


def session_cookie(user) -> tuple[bytes, bytes]:
    """The Cookie header a browser signed in as `user` sends."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())


async def open_socket(path: str = "/ws/live/", headers: Iterable[tuple[bytes, bytes]] = ()):
    """A socket through the handshake (the consumer accepts before it decides: see its docstring)."""
    socket = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def close_code(socket) -> int:
    """The code the server closed the socket with."""
    output = await socket.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def admitted(socket) -> bool:
    """Whether the server kept the socket: it answers a message it cannot use with an `error` message,
    and it reads messages only after it has decided (a refused socket is closed first)."""
    await socket.send_to(text_data='{"type": "hello"}')
    output = await socket.receive_output(timeout=5)
    if output["type"] == "websocket.close":
        return False
    assert json.loads(output["text"])["type"] == "error", output
    return True


async def received(socket, count: int) -> list[dict]:
    """The next `count` messages, decoded."""
    return [json.loads(await socket.receive_from(timeout=5)) for _ in range(count)]
