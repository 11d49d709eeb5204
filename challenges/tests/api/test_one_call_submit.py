"""POST /api/v1/attempts with the answer in the body: start and grade in one call."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.models import User
from challenges import services
from challenges.models import Attempt, Challenge
from challenges.tests.helpers import ATTEMPTS, drain_queue, make_challenge, queued_count
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


def test_an_answered_start_counts_against_the_start_limit_too(auth_client, rates):
    rates(start="1/minute")
    challenge = make_challenge()
    assert play(auth_client, challenge, score=70).status_code == 201
    refused = play(auth_client, challenge, score=70)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert play(auth_client, challenge).status_code == 429  # the plain start shares that counter
    assert Attempt.objects.count() == 1


def test_a_call_refused_by_one_limit_uses_none_of_the_other(auth_client, rates):
    rates(start="2/minute", submit="1/minute")
    challenge = make_challenge()
    assert play(auth_client, challenge, score=70).status_code == 201  # start 1/2, submit 1/1
    assert play(auth_client, challenge, score=70).status_code == 429  # submit refuses: start not counted
    assert play(auth_client, challenge).status_code == 201  # so a plain start still fits: start 2/2
    assert play(auth_client, challenge).status_code == 429
    assert list(Attempt.objects.order_by("started_at").values_list("status", flat=True)) == [
        "passed",
        "started",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 50}, "challenge_id"),
        ({"challenge_id": "not-a-uuid", "score": 50}, "challenge_id"),
        ({"challenge_id": "{challenge}", "score": None}, "score"),
        ({"challenge_id": "{challenge}", "score": -1}, "score"),
        ({"challenge_id": "{challenge}", "solution": "x" * 10_001}, "solution"),
        ({"challenge_id": "{challenge}", "score": 50, "client": "cli"}, "client"),
        (
            {"challenge_id": "{challenge}", "score": 50, "client": {"a": {"b": {"c": {"d": {"e": 1}}}}}},
            "client",
        ),
    ],
)
def test_a_malformed_body_is_400_on_its_field_and_leaves_no_attempt(auth_client, body, field):
    challenge = make_challenge()
    body = {name: str(challenge.pk) if value == "{challenge}" else value for name, value in body.items()}
    response = auth_client.post(ATTEMPTS, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Attempt.objects.exists()


def test_an_unknown_challenge_is_the_starts_404(auth_client):
    response = auth_client.post(ATTEMPTS, {"challenge_id": str(uuid.uuid4()), "score": 50}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Challenge not found.", "code": "challenge_not_found"}


def test_the_answer_and_client_details_are_kept_as_a_submit_keeps_them(auth_client):
    challenge = make_challenge(grading={"type": "exact", "answer": "Paris"}, pass_score=100)
    body = {"challenge_id": str(challenge.pk), "solution": "Paris", "client": {"app": "cli", "version": 2}}
    response = auth_client.post(ATTEMPTS, body, format="json")
    assert response.status_code == 201
    attempt = Attempt.objects.get(pk=response.json()["id"])
    assert attempt.metadata == {"solution": "Paris", "client": {"app": "cli", "version": 2}}


def test_a_refused_answer_schedules_nothing(auth_client, django_capture_on_commit_callbacks):
    challenge = make_challenge(grading={"type": "exact", "answer": "x"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = play(auth_client, challenge, score=90)
    assert response.status_code == 400
    assert callbacks == [] and queued_count() == 0


def test_one_call_costs_two_statements_then_one(auth_client, django_assert_num_queries):
    challenge = make_challenge()
    # The challenge with what grading needs; the attempt inserted already graded.
    with django_assert_num_queries(2):
        assert play(auth_client, challenge, score=70).status_code == 201
    # Then the INSERT alone, which checks the challenge as this process graded it.
    with django_assert_num_queries(1):
        assert play(auth_client, challenge, score=70).status_code == 201
    assert Attempt.objects.filter(challenge=challenge, status="passed").count() == 2


# The process keeps the challenge it graded against; these change the row behind its back (a plain
# UPDATE: no signal, no save(), as another process, the admin or a catalog import would) between two
# submissions, and the second must be answered as if nothing were kept.


def change(challenge, **fields) -> None:
    Challenge.objects.filter(pk=challenge.pk).update(**fields)


def test_a_pass_score_changed_since_the_last_submission_grades_the_next(auth_client):
    challenge = make_challenge(pass_score=50)
    assert play(auth_client, challenge, score=70).json()["status"] == "passed"
    change(challenge, pass_score=80)
    response = play(auth_client, challenge, score=70)
    assert (response.status_code, response.json()["status"]) == (201, "failed")
    statuses = Attempt.objects.order_by("started_at").values_list("status", flat=True)
    assert list(statuses) == ["passed", "failed"]


def test_a_grading_changed_since_the_last_submission_grades_the_next(auth_client):
    challenge = make_challenge(grading={"type": "exact", "answer": "Paris"}, pass_score=100)
    assert play(auth_client, challenge, solution="Paris").json()["status"] == "passed"
    change(challenge, grading={"type": "exact", "answer": "Lyon"})
    assert play(auth_client, challenge, solution="Paris").json()["status"] == "failed"
    change(challenge, grading={"type": "self_reported"})
    # The old rule wanted a solution; the new one wants a score, and refuses a solution alone.
    refused = play(auth_client, challenge, solution="Paris")
    assert refused.status_code == 400 and "score" in refused.json()
    assert Attempt.objects.count() == 2


def test_a_challenge_unpublished_since_the_last_submission_is_404_and_keeps_nothing(auth_client):
    challenge = make_challenge(grading={"type": "exact", "answer": "Paris"})
    assert play(auth_client, challenge, solution="Paris").status_code == 201
    change(challenge, published=False)
    for answer in ({"solution": "Paris"}, {"score": 50}):  # a good answer, and one the rule refuses
        response = play(auth_client, challenge, **answer)
        assert response.status_code == 404 and response.json()["code"] == "challenge_not_found"
    assert Attempt.objects.count() == 1
    change(challenge, published=True)
    assert play(auth_client, challenge, solution="Paris").status_code == 201


def test_the_answer_shows_the_challenges_title_as_it_is_now(auth_client):
    challenge = make_challenge(title="Before", xp=100)
    play(auth_client, challenge, score=70)
    change(challenge, title="After", xp=150)
    body = play(auth_client, challenge, score=70).json()
    assert body["challenge_title"] == "After"


@pytest.mark.django_db(transaction=True)
def test_the_award_leaves_only_when_the_transaction_commits_and_a_real_worker_pays_it(user):
    challenge = make_challenge(xp=100, pass_score=50)
    with transaction.atomic():
        attempt = services.attempt_start_and_submit(user=user, challenge_id=challenge.pk, score=70)
        assert queued_count() == 0  # the receiver waits for the commit
    assert queued_count() == 1
    assert drain_queue() == 1
    attempt.refresh_from_db()
    assert (attempt.status, attempt.xp_awarded) == ("passed", 70)
    assert User.objects.get(pk=user.pk).total_xp == 70


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_one_call_leaves_nothing_and_enqueues_nothing(user):
    challenge = make_challenge()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.attempt_start_and_submit(user=user, challenge_id=challenge.pk, score=70)
        raise RuntimeError("the caller's transaction fails after the grade")
    assert not Attempt.objects.exists()
    assert queued_count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_double_click_makes_two_graded_attempts_and_pays_the_challenge_once(user):
    """Two identical one-call posts at once: as with two starts, a player may hold several attempts
    on one challenge, so both are 201 and graded; the award pays the challenge's best result once."""
    challenge = make_challenge(xp=100, pass_score=50)
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def click() -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=10)
            answers.append(play(client, challenge, score=80).status_code)
        finally:
            connection.close()

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=30)
    assert answers == [201, 201]
    assert sorted(Attempt.objects.values_list("status", flat=True)) == ["passed", "passed"]
    drain_queue()
    assert not Attempt.objects.filter(awarded_at__isnull=True).exists()
    assert list(Attempt.objects.values_list("xp_awarded", flat=True).order_by("xp_awarded")) == [0, 80]
    assert User.objects.get(pk=user.pk).total_xp == 80
    assert XpEntry.objects.filter(user=user).count() == 1
