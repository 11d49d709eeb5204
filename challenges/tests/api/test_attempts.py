"""POST /api/v1/attempts, POST /attempts/{id}/submit, GET /attempts: a player's own attempts."""

from __future__ import annotations

import logging
import uuid

import pytest
from rest_framework.test import APIClient

from challenges import grading
from challenges.api.serializers import AttemptSerializer, attempt_data
from challenges.models import ATTEMPT_METADATA_MAX_BYTES, Attempt
from challenges.tests.helpers import ATTEMPTS, make_challenge, start, submit
from progress import jobs

pytestmark = pytest.mark.django_db

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def other_client(other_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_user)
    return client


@pytest.fixture
def challenge():
    return make_challenge(title="Hello", xp=100, pass_score=60)


class TestStart:
    def test_start_returns_201_with_started_attempt(self, auth_client, user, challenge):
        response = auth_client.post(ATTEMPTS, {"challenge_id": str(challenge.pk)}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["challenge_id"] == str(challenge.pk)
        assert body["status"] == "started"
        assert body["started_at"]
        assert (body["score"], body["xp_awarded"], body["submitted_at"]) == (None, None, None)
        attempt = Attempt.objects.get(pk=body["id"])
        assert (attempt.user, attempt.challenge, attempt.status) == (user, challenge, "started")

    def test_unknown_challenge_is_404(self, auth_client):
        response = auth_client.post(ATTEMPTS, {"challenge_id": UNKNOWN_ID}, format="json")
        assert response.status_code == 404
        assert response.json() == {"detail": "Challenge not found.", "code": "challenge_not_found"}

    def test_unpublished_challenge_is_404(self, auth_client):
        draft = make_challenge(published=False)
        response = auth_client.post(ATTEMPTS, {"challenge_id": str(draft.pk)}, format="json")
        assert response.status_code == 404
        assert not Attempt.objects.exists()

    @pytest.mark.parametrize(
        "body", [{"challenge_id": "nope"}, {"challenge_id": "12"}, {"challenge_id": None}, {}]
    )
    def test_malformed_or_missing_id_is_400(self, auth_client, body):
        response = auth_client.post(ATTEMPTS, body, format="json")
        assert response.status_code == 400
        assert "challenge_id" in response.json()

    def test_anonymous_is_401(self, api_client, challenge):
        response = api_client.post(ATTEMPTS, {"challenge_id": str(challenge.pk)}, format="json")
        assert response.status_code == 401
        assert not Attempt.objects.exists()


class TestSubmitSelfReported:
    def test_submit_returns_200_graded_with_xp_pending(self, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        response = submit(auth_client, attempt_id, score=95)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["id"] == attempt_id
        assert (body["status"], body["score"], body["xp_awarded"]) == ("passed", 95, None)
        assert body["submitted_at"]
        assert body["challenge_id"] == str(challenge.pk)

    @pytest.mark.parametrize(
        ("score", "status"), [(60, "passed"), (59, "failed"), (0, "failed"), (100, "passed")]
    )
    def test_passed_or_failed_by_pass_score(self, auth_client, challenge, score, status):
        attempt_id = start(auth_client, challenge)
        assert submit(auth_client, attempt_id, score=score).json()["status"] == status
        assert Attempt.objects.get(pk=attempt_id).status == status

    @pytest.mark.parametrize("score", [None, "high", -1, 101, 50.5, True, [50]])
    def test_bad_score_is_400_and_attempt_stays_started(self, auth_client, challenge, score):
        attempt_id = start(auth_client, challenge)
        body = {} if score is None else {"score": score}
        response = submit(auth_client, attempt_id, **body)
        assert response.status_code == 400, response.content
        assert "score" in response.json()
        assert Attempt.objects.get(pk=attempt_id).status == "started"

    @pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
    def test_non_finite_score_in_raw_json_is_400(self, auth_client, challenge, raw):
        attempt_id = start(auth_client, challenge)
        response = auth_client.post(
            f"{ATTEMPTS}/{attempt_id}/submit", f'{{"score": {raw}}}', content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"
        assert Attempt.objects.get(pk=attempt_id).status == "started"

    def test_malformed_json_is_400(self, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        response = auth_client.post(
            f"{ATTEMPTS}/{attempt_id}/submit", '{"score": 5', content_type="application/json"
        )
        assert response.status_code == 400

    def test_oversized_solution_is_400(self, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        response = submit(auth_client, attempt_id, score=90, solution="x" * (grading.SOLUTION_MAX_CHARS + 1))
        assert response.status_code == 400
        assert "solution" in response.json()
        assert Attempt.objects.get(pk=attempt_id).status == "started"

    def test_oversized_client_metadata_is_400(self, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        client = {"blob": "y" * ATTEMPT_METADATA_MAX_BYTES}
        response = submit(auth_client, attempt_id, score=90, client=client)
        assert response.status_code == 400
        assert "client" in response.json()
        attempt = Attempt.objects.get(pk=attempt_id)
        assert (attempt.status, attempt.metadata) == ("started", {})

    def test_a_non_ascii_solution_is_measured_in_real_bytes(self, auth_client, challenge):
        solution = "解" * 4000  # 12,000 bytes of UTF-8; 24,000 if counted as JSON \u escapes
        attempt_id = start(auth_client, challenge)
        response = submit(auth_client, attempt_id, score=90, solution=solution)
        assert response.status_code == 200, response.content
        assert Attempt.objects.get(pk=attempt_id).metadata["solution"] == solution

    def test_solution_and_client_details_are_kept_in_metadata(self, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        response = submit(auth_client, attempt_id, score=90, solution="print(1)", client={"ua": "cli"})
        assert response.status_code == 200
        assert "solution" not in response.json()
        metadata = Attempt.objects.get(pk=attempt_id).metadata
        assert metadata == {"solution": "print(1)", "client": {"ua": "cli"}}


class TestSubmitAnswerChecked:
    def test_exact_ignores_the_client_score(self, auth_client):
        challenge = make_challenge(grading={"type": "exact", "answer": "Paris"}, pass_score=100)
        wrong = submit(auth_client, start(auth_client, challenge), score=100, solution="Lyon").json()
        right = submit(auth_client, start(auth_client, challenge), score=0, solution=" paris ").json()
        assert (wrong["status"], wrong["score"]) == ("failed", 0)
        assert (right["status"], right["score"]) == ("passed", 100)

    def test_regex_full_match_decides(self, auth_client):
        challenge = make_challenge(grading={"type": "regex", "pattern": r"[a-z]+(-[a-z]+)*"}, pass_score=100)
        assert submit(auth_client, start(auth_client, challenge), solution="a-slug").json()["score"] == 100
        partial = submit(auth_client, start(auth_client, challenge), score=100, solution="a slug")
        assert partial.json()["score"] == 0

    def test_a_regex_that_runs_out_of_time_fails_the_attempt_and_logs_a_warning(self, auth_client, caplog):
        # Stored without validation (saving it now is refused): a catastrophic pattern.
        challenge = make_challenge(grading={"type": "regex", "pattern": "(a|aa)+$"}, pass_score=100)
        attempt_id = start(auth_client, challenge)
        with caplog.at_level(logging.WARNING, logger="skillquest.attempts"):
            response = submit(auth_client, attempt_id, solution="a" * 40 + "!")
        assert response.status_code == 200, response.content
        assert (response.json()["status"], response.json()["score"]) == ("failed", 0)
        assert Attempt.objects.get(pk=attempt_id).status == "failed"
        [record] = [r for r in caplog.records if r.getMessage() == "grading_timed_out"]
        assert record.levelno == logging.WARNING
        assert (record.challenge_id, record.attempt_id) == (str(challenge.pk), attempt_id)

    def test_numeric_within_tolerance_decides(self, auth_client):
        challenge = make_challenge(grading={"type": "numeric", "answer": 3.14, "tolerance": 0.005})
        assert submit(auth_client, start(auth_client, challenge), solution="3.141").json()["score"] == 100
        wrong = submit(auth_client, start(auth_client, challenge), score=100, solution="3")
        assert wrong.json()["score"] == 0

    @pytest.mark.parametrize("body", [{}, {"score": 100}, {"solution": "   "}])
    def test_missing_solution_is_400(self, auth_client, body):
        challenge = make_challenge(grading={"type": "exact", "answer": "Paris"})
        attempt_id = start(auth_client, challenge)
        response = submit(auth_client, attempt_id, **body)
        assert response.status_code == 400
        assert "solution" in response.json()
        assert Attempt.objects.get(pk=attempt_id).status == "started"

    def test_the_answer_is_never_in_the_response(self, auth_client):
        challenge = make_challenge(grading={"type": "exact", "answer": "Ouagadougou"})
        attempt_id = start(auth_client, challenge)
        responses = [
            submit(auth_client, attempt_id, solution="wrong"),
            auth_client.get(f"{ATTEMPTS}/{attempt_id}"),
            auth_client.get(ATTEMPTS),
        ]
        for response in responses:
            assert response.status_code == 200
            assert "Ouagadougou" not in response.content.decode()


class TestSubmitOwnershipAndOnce:
    def test_another_players_attempt_is_404(self, auth_client, other_client, challenge):
        attempt_id = start(auth_client, challenge)
        response = submit(other_client, attempt_id, score=100)
        assert response.status_code == 404
        assert response.json()["code"] == "attempt_not_found"
        assert Attempt.objects.get(pk=attempt_id).status == "started"

    @pytest.mark.parametrize("attempt_id", [UNKNOWN_ID, "not-a-uuid"])
    def test_unknown_or_malformed_attempt_is_404(self, auth_client, attempt_id):
        assert submit(auth_client, attempt_id, score=100).status_code == 404

    def test_second_submit_is_409_and_keeps_the_first_result(self, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        assert submit(auth_client, attempt_id, score=90).status_code == 200
        response = submit(auth_client, attempt_id, score=10)
        assert response.status_code == 409
        assert response.json() == {
            "detail": "This attempt has already been submitted.",
            "code": "attempt_already_submitted",
        }
        attempt = Attempt.objects.get(pk=attempt_id)
        assert (attempt.status, attempt.score) == ("passed", 90)

    def test_anonymous_submit_is_401(self, api_client, auth_client, challenge):
        attempt_id = start(auth_client, challenge)
        assert submit(api_client, attempt_id, score=100).status_code == 401


class TestListAndDetail:
    @pytest.fixture
    def history(self, auth_client, other_client, challenge):
        second = make_challenge(title="Second")
        passed = start(auth_client, challenge)
        submit(auth_client, passed, score=90)
        failed = start(auth_client, challenge)
        submit(auth_client, failed, score=10)
        started = start(auth_client, second)
        theirs = start(other_client, challenge)
        return {"passed": passed, "failed": failed, "started": started, "theirs": theirs, "second": second}

    def test_list_shows_only_own_attempts_newest_first(self, auth_client, history):
        response = auth_client.get(ATTEMPTS)
        assert response.status_code == 200
        ids = [row["id"] for row in response.json()["results"]]
        assert ids == [history["started"], history["failed"], history["passed"]]

    def test_filter_by_status(self, auth_client, history):
        rows = auth_client.get(ATTEMPTS, {"status": "failed"}).json()["results"]
        assert [row["id"] for row in rows] == [history["failed"]]

    def test_filter_by_challenge(self, auth_client, history):
        rows = auth_client.get(ATTEMPTS, {"challenge": str(history["second"].pk)}).json()["results"]
        assert [row["id"] for row in rows] == [history["started"]]

    @pytest.mark.parametrize("params", [{"status": "won"}, {"challenge": "nope"}])
    def test_bad_filter_is_400(self, auth_client, history, params):
        assert auth_client.get(ATTEMPTS, params).status_code == 400

    def test_list_query_count_is_fixed(self, auth_client, history, django_assert_num_queries):
        with django_assert_num_queries(2):
            assert len(auth_client.get(ATTEMPTS).json()["results"]) == 3

    def test_detail_of_own_attempt(self, auth_client, history):
        body = auth_client.get(f"{ATTEMPTS}/{history['passed']}").json()
        assert (body["status"], body["score"], body["challenge_title"]) == ("passed", 90, "Hello")

    def test_detail_of_another_players_attempt_is_404(self, auth_client, history):
        assert auth_client.get(f"{ATTEMPTS}/{history['theirs']}").status_code == 404

    def test_malformed_id_is_404(self, auth_client):
        assert auth_client.get(f"{ATTEMPTS}/not-a-uuid").status_code == 404

    def test_anonymous_list_is_401(self, api_client):
        assert api_client.get(ATTEMPTS).status_code == 401

    def test_xp_awarded_appears_once_awarded(self, auth_client, history):
        url = f"{ATTEMPTS}/{history['passed']}"
        assert auth_client.get(url).json()["xp_awarded"] is None
        jobs.award_xp_and_badges(history["passed"])
        body = auth_client.get(url).json()
        assert body["xp_awarded"] == 90
        assert body["awarded_at"]


def test_submit_for_unknown_user_attempt_does_not_leak_existence(auth_client, other_client, challenge):
    theirs = start(other_client, challenge)
    mine_unknown = submit(auth_client, uuid.uuid4(), score=1).json()
    not_mine = submit(auth_client, theirs, score=1).json()
    assert mine_unknown == not_mine


def test_start_and_submit_answer_exactly_what_the_attempt_serializer_says(
    auth_client, user, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_IN_PROCESS = True
    challenge = make_challenge(title="Ünïcode & <title>", xp=100, pass_score=60)
    started = auth_client.post(ATTEMPTS, {"challenge_id": str(challenge.pk)}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        graded = submit(auth_client, started.json()["id"], score=90)
    attempt = Attempt.objects.select_related("challenge").get(pk=started.json()["id"])
    assert started.json() == {**AttemptSerializer(attempt).data, "status": "started", "score": None,
                              "xp_awarded": None, "submitted_at": None, "awarded_at": None}  # fmt: skip
    assert graded.json()["status"] == "passed" and graded.json()["submitted_at"] is not None
    assert attempt.xp_awarded == 90  # awarded in-process since (90 % of 100): compare that state too
    assert attempt_data(attempt) == dict(AttemptSerializer(attempt).data)
