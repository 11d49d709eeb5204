from __future__ import annotations

import pytest
from model_bakery import baker

from challenges.models import Attempt, Challenge

pytestmark = pytest.mark.django_db(transaction=True)


def test_submit_then_worker_awards(auth_client, user):
    from django_rq import get_queue
    from rq import SimpleWorker

    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    started = auth_client.post("/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json")
    assert started.status_code == 201, started.json()
    attempt_id = started.json()["id"]
    submitted = auth_client.post(f"/api/v1/attempts/{attempt_id}/submit", {"score": 95}, format="json")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "passed"
    assert submitted.json()["xp_awarded"] is None
    queue = get_queue("default")
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    attempt = Attempt.objects.get(pk=attempt_id)
    assert attempt.xp_awarded == 95
    user.refresh_from_db()
    assert user.total_xp == 95
    progress = auth_client.get(f"/api/v1/users/{user.id}/progress").json()
    assert progress["total_xp"] == 95
    assert progress["recent_attempts"][0]["xp_awarded"] == 95
