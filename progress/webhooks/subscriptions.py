"""Which event types some active endpoint subscribes to, cached so that the award job asks cheaply.

One Redis GET per question; every change to an endpoint clears the key once it commits
(`subscriptions_changed`), and the next question reads the endpoints again.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from progress.models import WebhookEndpoint

SUBSCRIBED_KEY = "skillquest:webhooks:subscribed"
# A safety net only: every change to an endpoint clears the key at once.
SUBSCRIBED_TTL = 300


def subscribed_types() -> frozenset[str]:
    """The event types at least one active endpoint subscribes to."""
    cached = cache.get(SUBSCRIBED_KEY)
    if cached is not None:
        return frozenset(cached)
    types: set[str] = set()
    for events in WebhookEndpoint.objects.filter(active=True).values_list("events", flat=True):
        types.update(events)
    cache.set(SUBSCRIBED_KEY, sorted(types), SUBSCRIBED_TTL)
    return frozenset(types)


def subscriptions_changed() -> None:
    """Call inside the transaction that changed an endpoint: the cache is cleared once it commits."""
    transaction.on_commit(lambda: cache.delete(SUBSCRIBED_KEY), robust=True)
