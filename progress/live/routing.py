"""The live socket's URL, for `skillquest.asgi` (Channels' URLRouter)."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from progress.live.consumers import LiveConsumer, NoSuchSocket

# Channels routes with Django's path(); django-stubs types path() for views only, hence the Any.
live: Any = LiveConsumer.as_asgi()
refused: Any = NoSuchSocket.as_asgi()

websocket_urlpatterns: list[Any] = [
    path("ws/live/", live),
    re_path(r"", refused),
]
