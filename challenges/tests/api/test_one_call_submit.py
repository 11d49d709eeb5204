"""POST /api/v1/attempts with the answer in the body: start and grade in one call."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from challenges.models import Attempt
from challenges.tests.helpers import ATTEMPTS, drain_queue, make_challenge
from progress.models import XpEntry

pytestmark = pytest.mark.django_db


def play(client: APIClient, challenge, **answer):
    return client.post(ATTEMPTS, {"challenge_id": str(challenge.pk), **answer}, format="json")


def test_an_answered_start_is_graded_and_awarded_like_a_submit(
    auth_client, user, django_capture_on_commit_callbacks
):
    challenge = make_challenge(xp=100, pass_score=60)
    with django_capture_on_commit_callbacks(execute=True):
        response = play(auth_client, challenge, score=80)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["score"], body["xp_awarded"]) == ("passed", 80, None)
    assert body["submitted_at"] is not None
    assert drain_queue() == 1  # the same award job as after a submit
    assert Attempt.objects.get(pk=body["id"]).xp_awarded == 80
    assert User.objects.get(pk=user.pk).total_xp == 80 == XpEntry.objects.get(user=user).amount


def test_a_solution_is_graded_by_the_challenge_and_a_wrong_one_fails(auth_client):
    challenge = make_challenge(grading={"type": "exact", "answer": "Paris"}, pass_score=100)
    right = play(auth_client, challenge, solution=" paris ")
    wrong = play(auth_client, challenge, solution="Lyon")
    assert (right.status_code, right.json()["status"], right.json()["score"]) == (201, "passed", 100)
    assert (wrong.status_code, wrong.json()["status"], wrong.json()["score"]) == (201, "failed", 0)


@pytest.mark.parametrize(
    ("grading", "answer", "field"),
    [
        ({"type": "exact", "answer": "x"}, {"score": 90}, "solution"),  # a score does not grade it
        ({"type": "self_reported"}, {"score": 101}, "score"),
        ({"type": "self_reported"}, {"score": "lots"}, "score"),
        ({"type": "self_reported"}, {"solution": "42"}, "score"),
    ],
)
def test_a_refused_answer_is_400_and_leaves_no_attempt(auth_client, grading, answer, field):
    response = play(auth_client, make_challenge(grading=grading), **answer)
    assert response.status_code == 400 and field in response.json()
    assert not Attempt.objects.exists()


def test_an_unknown_or_draft_challenge_is_404_and_anonymous_is_401(auth_client):
    draft = make_challenge(published=False)
    assert play(auth_client, draft, score=50).status_code == 404
    assert (
        APIClient().post(ATTEMPTS, {"challenge_id": str(draft.pk), "score": 50}, format="json").status_code
        == 401
    )
    assert not Attempt.objects.exists()


def test_a_start_without_an_answer_stays_a_plain_start(auth_client):
    response = play(auth_client, make_challenge())
    assert response.status_code == 201 and response.json()["status"] == "started"


def test_an_answered_start_counts_against_the_submit_limit_too(auth_client, rates):
    rates(submit="1/minute")
    challenge = make_challenge()
    assert play(auth_client, challenge, score=70).status_code == 201
    refused = play(auth_client, challenge, score=70)
    assert refused.status_code == 429
    assert play(auth_client, challenge).status_code == 201  # a plain start is not a submit
    assert Attempt.objects.filter(status="passed").count() == 1
