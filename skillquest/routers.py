from __future__ import annotations

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Accept `/challenges` (the seed's curl session) and `/challenges/` alike, without redirects."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
