"""Which event types some active endpoint subscribes to, cached so that the award job asks cheaply.

One Redis GET per question; every change to an endpoint clears the key once it commits
(`subscriptions_changed`), and the next question reads the endpoints again. With Redis down the
endpoints are read from PostgreSQL: an award or a grant never fails for the cache's sake.
"""

from __future__ import annotations

import contextlib

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from progress.models import WebhookEndpoint

SUBSCRIBED_KEY = "skillquest:webhooks:subscribed"
# Every change to an endpoint clears the key at once; the expiry bounds the one race that clearing
# cannot cover (a reader that read the endpoints before a change committed and writes after it).
SUBSCRIBED_TTL = 30


def subscribed_types() -> frozenset[str]:
    """The event types at least one active endpoint subscribes to."""
    try:
        cached = cache.get(SUBSCRIBED_KEY)
    except RedisError:
        cached = None
    if cached is not None:
        return frozenset(cached)
    types: set[str] = set()
    for events in WebhookEndpoint.objects.filter(active=True).values_list("events", flat=True):
        types.update(events)
    with contextlib.suppress(RedisError):  # the next question reads the endpoints again
        cache.set(SUBSCRIBED_KEY, sorted(types), SUBSCRIBED_TTL)
    return frozenset(types)


def subscriptions_changed() -> None:
    """Call inside the transaction that changed an endpoint: the cache is cleared once it commits."""
    transaction.on_commit(lambda: cache.delete(SUBSCRIBED_KEY), robust=True)  # robust: Redis may be down
