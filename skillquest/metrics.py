"""SkillQuest's Prometheus metrics: every domain metric is defined here, and only here.

Services call the one-line functions below at the moment an event is committed:

- `challenge_submitted()`: by the challenges service that grades a submission, after commit.
- `xp_awarded(xp=..., lag_seconds=...)`: by the award job (progress.jobs), once per attempt it
  awarded, after the batch's commit.
- `badge_awarded(slug)`: by the badges code, once per badge newly awarded, after commit.

RQ queue depth, failed jobs and workers are not counted by anyone: a collector reads them from
Redis at scrape time. Web (gunicorn workers) and RQ workers share counters through
prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (docs/architecture.md);
the files are named by skillquest.multiprocess_metrics, which runs before this module (and any
metric) is imported. This module needs settings (django_rq reads them on import), so nothing
imports it ahead of them.
"""

from __future__ import annotations

import hmac
import ipaddress

import django_rq
from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from rq import Worker

from skillquest.multiprocess_metrics import multiprocess_dir
from skillquest.redis_client import redis_connection

CHALLENGE_SUBMITTED = Counter("skillquest_challenge_submitted", "Attempts submitted and graded (committed).")
XP_AWARDED = Counter("skillquest_xp_awarded", "XP points awarded to players (sum over awards).")
BADGES_AWARDED = Counter("skillquest_badges_awarded", "Badges awarded to players.", ["badge"])
AWARD_LAG = Histogram(
    "skillquest_award_lag_seconds",
    "Seconds from an attempt's submitted_at to its awarded_at; the count is the number of awards.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600),
)

# Webhook attempts by outcome (ok, failed); endpoints disabled after failing in a row.
WEBHOOK_ATTEMPTS = Counter(
    "skillquest_webhook_attempts", "Webhook delivery attempts, by outcome.", ["outcome"]
)
# Both outcomes exist from the start (at 0), as Prometheus advises for known label values: a failure
# ratio or a `rate()` over them has a series before the first delivery, and the dashboards' panels and
# alerts find the metric on any /metrics (skillquest/tests/test_dashboards.py).
for _outcome in ("ok", "failed"):
    WEBHOOK_ATTEMPTS.labels(outcome=_outcome)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "skillquest_webhook_endpoints_disabled",
    "Webhook endpoints disabled after WEBHOOK_DISABLE_AFTER failures.",
)


def challenge_submitted() -> None:
    CHALLENGE_SUBMITTED.inc()


def xp_awarded(*, xp: int, lag_seconds: float | None) -> None:
    XP_AWARDED.inc(xp)
    if lag_seconds is not None:
        AWARD_LAG.observe(max(lag_seconds, 0.0))


def badge_awarded(slug: str, *, count: int = 1) -> None:
    """Count newly awarded badges; call it after commit, for (user, badge) pairs actually awarded."""
    BADGES_AWARDED.labels(badge=slug).inc(count)


def webhook_attempts(*, succeeded: int, failed: int, disabled: int = 0) -> None:
    """Count recorded webhook attempts (call after their commit)."""
    if succeeded:
        WEBHOOK_ATTEMPTS.labels(outcome="ok").inc(succeeded)
    if failed:
        WEBHOOK_ATTEMPTS.labels(outcome="failed").inc(failed)
    if disabled:
        WEBHOOK_ENDPOINTS_DISABLED.inc(disabled)


class RQCollector(Collector):
    """Queue depth, failed-job count and worker count of every configured queue, read at scrape time."""

    def describe(self):
        # Registering must not read Redis: the collector is registered on import, scraped later.
        return []

    def collect(self):
        if settings.JOBS_IN_PROCESS:
            return
        up = GaugeMetricFamily("skillquest_rq_up", "1 if the RQ Redis answered this scrape.")
        depth = GaugeMetricFamily("skillquest_rq_queue_depth", "Jobs waiting in the queue.", labels=["queue"])
        failed = GaugeMetricFamily(
            "skillquest_rq_failed_jobs", "Jobs in the queue's failed-job registry.", labels=["queue"]
        )
        workers = GaugeMetricFamily(
            "skillquest_rq_workers", "Workers listening on the queue.", labels=["queue"]
        )
        try:
            for name in settings.RQ_QUEUES:
                queue = django_rq.get_queue(name, connection=redis_connection(name))
                depth.add_metric([name], queue.count)
                failed.add_metric([name], queue.failed_job_registry.count)
                workers.add_metric([name], Worker.count(queue=queue))
        except RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, depth, failed, workers)


RQ_COLLECTOR = RQCollector()
REGISTRY.register(RQ_COLLECTOR)


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    # The direct peer only: X-Forwarded-For is the client's to forge.
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_IPS)


def metrics_view(request):
    """Prometheus exposition; 404 (not 403: do not reveal it) unless allow-listed or with the token."""
    if not _allowed(request):
        raise Http404("Not found.")
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(RQ_COLLECTOR)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
