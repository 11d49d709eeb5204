"""A tiny per-process cache for rendered pages that everyone reads and that may be a moment old."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class RecentPages:
    """Rendered data by key, each kept for `seconds()` in this process only.

    For public pages read far more often than they change (the leaderboard API): one process
    answers a burst of identical requests from memory instead of Redis and SQL, and is at most
    `seconds()` behind. Nothing invalidates an entry early, so writes (awards) never cause a storm
    of rebuilds. At most `max_entries` keys are held; when full, the oldest entry makes room.
    """

    def __init__(self, *, seconds: Callable[[], float], max_entries: int = 256) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()  # threaded servers (runserver, gthread) evict concurrently

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: str, value: Any) -> None:
        ttl = self.seconds()
        if ttl <= 0:
            return
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)), None)  # dicts keep insertion order
            self._entries[key] = (time.monotonic() + ttl, value)

    def clear(self) -> None:
        self._entries.clear()
