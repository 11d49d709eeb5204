"""Reads for API keys."""

from __future__ import annotations

from django.db.models import QuerySet

from challenges.models import ApiKey


def api_key_for_secret(secret: str) -> ApiKey | None:
    """The key this secret belongs to (revoked and expired ones too: the caller says why it refuses),
    or None. One indexed read by the public prefix, then the hash compared in constant time."""
    prefix, dot, _ = secret.partition(".")
    if not dot or not prefix or "\x00" in secret:  # PostgreSQL compares no text holding NUL
        return None
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None or not api_key.is_valid(secret):
        return None
    return api_key


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by").order_by("-created", "prefix")
