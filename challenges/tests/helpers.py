"""Shared test helpers: build challenges, drive the attempts API, drain the real RQ queue."""

from __future__ import annotations

import itertools

from model_bakery import baker
from rq import SimpleWorker

from challenges.models import Challenge
from skillquest.queue import default_queue

ATTEMPTS = "/api/v1/attempts"
CHALLENGES = "/api/v1/challenges"

_serial = itertools.count(1)


def make_challenge(**fields) -> Challenge:
    n = next(_serial)
    defaults = {
        "title": f"Challenge {n}",
        "slug": f"challenge-{n}",
        "xp": 100,
        "published": True,
        "pass_score": 50,
        "grading": {"type": "self_reported"},
        "difficulty": "easy",
    }
    return baker.make(Challenge, **{**defaults, **fields})


def start(api, challenge) -> str:
    response = api.post(ATTEMPTS, {"challenge_id": str(challenge.pk)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def submit(api, attempt_id, **body):
    return api.post(f"{ATTEMPTS}/{attempt_id}/submit", body, format="json")


def queued_count() -> int:
    return default_queue().count


def drain_queue() -> int:
    """Run a real RQ worker in burst mode on the default queue; returns how many jobs it ran."""
    queue = default_queue()
    before = len(queue.finished_job_registry) + len(queue.failed_job_registry)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    return len(queue.finished_job_registry) + len(queue.failed_job_registry) - before
