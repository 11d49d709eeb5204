"""The award job evaluates badges after XP, through a real RQ worker."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connection
from django.utils import timezone
from django_rq import get_queue
from model_bakery import baker
from rq import SimpleWorker

from challenges.models import Attempt, Challenge
from progress import jobs
from progress.models import UserBadge

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    queue = get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def submit(client, challenge, score: int) -> str:
    started = client.post("/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json")
    assert started.status_code == 201, started.json()
    attempt_id = started.json()["id"]
    submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit", {"score": score}, format="json")
    assert submitted.status_code == 200, submitted.json()
    return attempt_id


def test_first_passed_challenge_earns_first_steps_exactly_once(auth_client, user, make_badge, caplog):
    caplog.set_level(logging.INFO, logger="skillquest.awards")
    first_steps = make_badge("First Steps", {"type": "attempt_count", "count": 1})
    hello = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    world = baker.make(Challenge, title="World", slug="world", xp=50, published=True)

    attempt_id = submit(auth_client, hello, 95)
    assert get_queue("default").count == 1
    run_worker()
    award = UserBadge.objects.get(user=user, badge=first_steps)
    assert award.metadata == {"attempt_id": attempt_id}
    logged = [r for r in caplog.records if r.getMessage() == "badge_awarded"]
    assert [(r.user_id, r.badge, r.attempt_id) for r in logged] == [(str(user.pk), "first-steps", attempt_id)]

    submit(auth_client, world, 80)
    run_worker()
    assert Attempt.objects.filter(user=user, xp_awarded__gt=0).count() == 2
    assert UserBadge.objects.filter(user=user).count() == 1
    assert len([r for r in caplog.records if r.getMessage() == "badge_awarded"]) == 1
    badges = auth_client.get(f"/api/v1/users/{user.id}/badges").json()
    assert [entry["badge"]["slug"] for entry in badges] == ["first-steps"]


def test_the_job_reports_the_badges_it_awarded(user, make_badge):
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_badge("Centurion", {"type": "xp", "threshold": 100})
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    attempt = baker.make(
        Attempt, user=user, challenge=challenge, status="passed", score=100, submitted_at=timezone.now()
    )
    result = jobs.award_xp_and_badges(str(attempt.pk))
    assert sorted(result["badges"]) == ["centurion", "first-steps"]
    assert jobs.award_xp_and_badges(str(attempt.pk)) == {"awarded": 0, "badges": [], "quests": []}


def test_a_failed_attempt_evaluates_no_badges(user, make_badge):
    # The player already qualifies for this badge (say it was created after their XP was earned);
    # a failed attempt changes nothing, so the job does not even look at it.
    make_badge("Centurion", {"type": "xp", "threshold": 100})
    user.total_xp, user.level = 150, 2
    user.save()
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    failed = baker.make(
        Attempt, user=user, challenge=challenge, status="failed", score=10, submitted_at=timezone.now()
    )
    assert jobs.award_xp_and_badges(str(failed.pk))["badges"] == []
    assert not UserBadge.objects.filter(user=user).exists()
    passed = baker.make(
        Attempt, user=user, challenge=challenge, status="passed", score=60, submitted_at=timezone.now()
    )
    assert jobs.award_xp_and_badges(str(passed.pk))["badges"] == ["centurion"]


def test_two_concurrent_award_jobs_for_one_player_award_first_steps_once(user, make_badge):
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    challenges = baker.make(Challenge, xp=10, pass_score=50, published=True, _quantity=2)
    attempts = [
        baker.make(
            Attempt, user=user, challenge=challenge, status="passed", score=100, submitted_at=timezone.now()
        )
        for challenge in challenges
    ]
    barrier = threading.Barrier(len(attempts))
    results: list[dict] = []
    errors: list[BaseException] = []

    def work(attempt_id: str) -> None:
        try:
            barrier.wait()
            results.append(jobs.award_xp_and_badges(attempt_id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(str(attempt.pk),)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(slug for result in results for slug in result["badges"]) == ["first-steps"]
    assert UserBadge.objects.filter(user=user).count() == 1
    user.refresh_from_db()
    assert user.total_xp == 20
