"""Sockets through the real ASGI application (`skillquest.asgi`) with Channels' WebsocketCommunicator,
on the suite's Redis (the channel layer, the tickets, the connect limits)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from skillquest.asgi import application
from skillquest.tests.helpers import run_in_own_loop

ORIGIN = (b"origin", b"http://testserver")  # a page of ours: Django's test host is allowed


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario on one event loop (its sockets live on it), in a thread of its own
    (`run_in_own_loop`)."""
    run_in_own_loop(scenario)


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


def burst_worker() -> str:
    """A real RQ worker process (the Procfile's worker class) that runs what is queued and exits; its
    output. On the test database and Redis index (the scenario's tests are transactional)."""
    db = connections["default"].settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    command = [
        sys.executable,
        "manage.py",
        "rqworker",
        "--worker-class",
        "skillquest.worker.Worker",
        "--burst",
    ]
    result = subprocess.run(
        [*command, "default"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr
