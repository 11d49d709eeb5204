"""`POST /api/v1/ingest/attempts` with an API key: graded, awarded by the same job, idempotent, scoped,
rate-limited per key and audited; and what a `read` key may do elsewhere."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from challenges.ingest.services import api_key_create, api_key_revoke
from challenges.models import ApiKey, Attempt, IngestedAttempt
from challenges.tests.helpers import drain_queue, make_challenge
from progress.models import XpEntry
from skillquest.audit.models import AuditEntry

INGEST = "/api/v1/ingest/attempts"


def key_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def ingest_key(staff_user) -> tuple[ApiKey, str]:
    return api_key_create(name="LMS", scopes=["ingest"], actor=staff_user)


@pytest.fixture
def lms(ingest_key) -> APIClient:
    return key_client(ingest_key[1])


@pytest.fixture
def quiz(db):
    return make_challenge(slug="quiz", xp=100, pass_score=60)


def body(user, **overrides):
    return {
        "username": user.username,
        "challenge": "quiz",
        "score": 80,
        "idempotency_key": "run-1",
        **overrides,
    }


def test_an_ingested_score_is_graded_and_awarded_by_the_award_job(
    lms, user, quiz, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = lms.post(INGEST, body(user), format="json")

    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["status"], answer["score"], answer["xp_awarded"]) == ("passed", 80, None)
    assert answer["user_id"] == str(user.pk) and answer["challenge_id"] == str(quiz.pk)
    assert drain_queue() == 1  # the same award job as after a submit, on a real worker
    assert Attempt.objects.get(pk=answer["id"]).xp_awarded == 80
    assert User.objects.get(pk=user.pk).total_xp == 80 == XpEntry.objects.get(user=user).amount


def test_a_score_below_the_pass_mark_fails(lms, user, quiz):
    response = lms.post(INGEST, body(user, score=59), format="json")
    assert (response.status_code, response.json()["status"]) == (201, "failed")


def test_the_player_may_be_named_by_id(lms, user, quiz):
    payload = {**body(user), "user_id": str(user.pk)}
    del payload["username"]
    assert lms.post(INGEST, payload, format="json").status_code == 201


def test_usernames_are_matched_without_case(lms, user, quiz):
    assert lms.post(INGEST, body(user, username="ALICE"), format="json").status_code == 201


def test_the_same_idempotency_key_answers_200_with_the_same_attempt(lms, user, quiz):
    first = lms.post(INGEST, body(user), format="json")
    again = lms.post(INGEST, body(user), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Attempt.objects.count() == 1


def test_the_same_idempotency_key_for_another_score_is_409(lms, user, quiz):
    assert lms.post(INGEST, body(user), format="json").status_code == 201
    response = lms.post(INGEST, body(user, score=90), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_belong_to_their_api_key(lms, user, quiz, staff_user):
    _, other_secret = api_key_create(name="Other LMS", scopes=["ingest"], actor=staff_user)
    first = lms.post(INGEST, body(user), format="json")
    second = key_client(other_secret).post(INGEST, body(user), format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_a_challenge_that_is_not_self_reported_is_400(lms, user, db):
    make_challenge(slug="capital", grading={"type": "exact", "answer": "Paris"})
    response = lms.post(INGEST, body(user, challenge="capital"), format="json")
    assert response.status_code == 400
    assert "challenge" in response.json()
    assert not Attempt.objects.exists() and not IngestedAttempt.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"score": 101},
        {"score": -1},
        {"score": "lots"},
        {"idempotency_key": "has space"},
        {"idempotency_key": "x" * 101},
        {"idempotency_key": ""},
        {"challenge": "not a slug"},
        {"user_id": "00000000-0000-4000-8000-000000000000"},  # both ways of naming the player at once
        {"user_id": "not-a-uuid"},
    ],
)
def test_bad_input_is_400(lms, user, quiz, change):
    assert lms.post(INGEST, body(user, **change), format="json").status_code == 400
    assert not Attempt.objects.exists()


def test_a_player_must_be_named(lms, user, quiz):
    payload = body(user)
    del payload["username"]
    response = lms.post(INGEST, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give exactly one of `username` and `user_id`."]}


def test_an_unpublished_or_unknown_challenge_is_404(lms, user, db):
    make_challenge(slug="draft", published=False)
    for slug in ("draft", "nowhere"):
        response = lms.post(INGEST, body(user, challenge=slug, idempotency_key=slug), format="json")
        assert (response.status_code, response.json()["code"]) == (404, "challenge_not_found")


def test_an_unknown_or_inactive_player_is_404(lms, user, quiz):
    User.objects.filter(pk=user.pk).update(is_active=False)
    for name in ("alice", "nobody"):
        response = lms.post(INGEST, body(user, username=name, idempotency_key=name), format="json")
        assert (response.status_code, response.json()["code"]) == (404, "user_not_found")


def test_without_a_key_or_with_a_players_token_it_is_401(api_client, user, quiz):
    response = api_client.post(INGEST, body(user), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    player = APIClient()
    player.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    assert player.post(INGEST, body(user), format="json").status_code == 401


@pytest.mark.parametrize("secret", ["nonsense", "abcdefgh.wrong-secret", "", "a\x00b.c"])
def test_a_wrong_key_is_401(user, quiz, ingest_key, secret):
    response = key_client(secret).post(INGEST, body(user), format="json")
    assert response.status_code == 401
    assert response.json()["code"] in {"api_key_invalid", "not_authenticated"}


def test_a_wrong_secret_with_a_real_prefix_is_401(user, quiz, ingest_key):
    api_key, secret = ingest_key
    forged = f"{api_key.prefix}.{'x' * 32}"
    assert forged != secret
    assert key_client(forged).post(INGEST, body(user), format="json").status_code == 401


def test_a_revoked_or_expired_key_is_401(user, quiz, ingest_key, staff_user):
    api_key, secret = ingest_key
    api_key_revoke(api_key=api_key, actor=staff_user)
    assert key_client(secret).post(INGEST, body(user), format="json").status_code == 401
    expired, expired_secret = api_key_create(
        name="Old", scopes=["ingest"], actor=staff_user, expiry_date=timezone.now() + timedelta(seconds=1)
    )
    ApiKey.objects.filter(pk=expired.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    response = key_client(expired_secret).post(INGEST, body(user), format="json")
    assert (response.status_code, response.json()["code"]) == (401, "api_key_invalid")


def test_a_key_without_the_ingest_scope_is_403(user, quiz, staff_user):
    _, secret = api_key_create(name="Reader", scopes=["read"], actor=staff_user)
    response = key_client(secret).post(INGEST, body(user), format="json")
    assert (response.status_code, response.json()["code"]) == (403, "api_key_scope")
    assert not Attempt.objects.exists()


def test_every_use_of_a_key_is_audited_under_its_name(lms, user, quiz, ingest_key):
    lms.post(INGEST, body(user), format="json")
    lms.post(INGEST, body(user, score=5), format="json")  # a 409 is a use too
    uses = AuditEntry.objects.filter(action="api_key.use").order_by("created_at")
    assert [(use.actor_username, use.target_id, use.changes["method"]) for use in uses] == [
        ("api-key:LMS", ingest_key[0].prefix, "POST")
    ] * 2
    assert uses[0].changes["path"] == INGEST


def test_ingestion_is_rate_limited_per_key(lms, user, quiz, staff_user, rates):
    rates(ingest="2/minute")
    codes = [
        lms.post(INGEST, body(user, idempotency_key=f"k{n}"), format="json").status_code for n in range(3)
    ]
    assert codes == [201, 201, 429]
    _, other = api_key_create(name="Other", scopes=["ingest"], actor=staff_user)
    assert key_client(other).post(INGEST, body(user, idempotency_key="k9"), format="json").status_code == 201


def test_an_ingestion_takes_a_fixed_number_of_queries(lms, user, quiz, django_assert_num_queries):
    lms.post(INGEST, body(user, idempotency_key="warm"), format="json")
    # The key by its prefix, the audit entry, the player, an earlier claim, the challenge; the player's
    # own one-call submit (1: the graded attempt's insert, which checks the challenge the warm-up
    # call read is unchanged); the claim: 7 statements, and 2 savepoints opened and released (in
    # the test's transaction).
    with django_assert_num_queries(11):
        assert lms.post(INGEST, body(user, idempotency_key="counted"), format="json").status_code == 201


def test_the_schema_describes_the_api_key_scheme_where_a_key_is_taken(api_client, db):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["securitySchemes"]["apiKeyAuth"] == {
        **schema["components"]["securitySchemes"]["apiKeyAuth"],
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
    }
    assert schema["paths"]["/api/v1/ingest/attempts/"]["post"]["security"] == [{"apiKeyAuth": []}]
    # Public reads need no credentials at all (a `read` key only moves them to the key's own limit).
    assert schema["paths"]["/api/v1/leaderboard/"]["get"]["security"] == []
    assert {"apiKeyAuth": []} not in schema["paths"]["/api/v1/attempts/"]["post"]["security"]
    assert {"apiKeyAuth": []} not in schema["paths"]["/api/v1/admin/api-keys/"]["get"]["security"]


# --- The `read` scope: the GETs anyone may make, with the key counted and audited.


def test_a_read_key_reads_public_data(user, quiz, staff_user):
    _, secret = api_key_create(name="Dashboard", scopes=["read"], actor=staff_user)
    reader = key_client(secret)
    for path in ("/api/v1/challenges", f"/api/v1/users/{user.pk}/progress", "/api/v1/leaderboard"):
        assert reader.get(path).status_code == 200, path
    assert AuditEntry.objects.filter(action="api_key.use", actor_username="api-key:Dashboard").count() == 3


def test_a_read_key_is_no_player_and_no_staff(user, quiz, staff_user):
    _, secret = api_key_create(name="Dashboard", scopes=["read"], actor=staff_user)
    reader = key_client(secret)
    assert reader.get("/api/v1/auth/me").status_code == 403
    assert reader.get("/api/v1/admin/api-keys").status_code == 403
    assert reader.post("/api/v1/attempts", {"challenge_id": str(quiz.pk)}, format="json").status_code == 403


def test_a_key_granting_nothing_is_ignored_on_public_reads_and_refused_elsewhere(lms, db, rates):
    rates(anon="1/minute")
    # An ingest-only or wrong key reads what anyone may, as anyone: counted by its address.
    assert lms.get("/api/v1/challenges").status_code == 200
    assert key_client("abcdefgh.nope").get("/api/v1/challenges").status_code == 429
    assert lms.get("/api/v1/attempts").status_code == 403
    assert key_client("abcdefgh.nope").get("/api/v1/attempts").status_code == 401
    assert key_client("abcdefgh.nope").post(INGEST, {}, format="json").status_code == 401


def test_reads_with_a_key_are_counted_per_key_not_per_address(user, staff_user, rates):
    rates(ingest="1/minute", anon="1/minute")
    _, secret = api_key_create(name="Dashboard", scopes=["read"], actor=staff_user)
    reader = key_client(secret)
    assert reader.get("/api/v1/tags").status_code == 200
    assert reader.get("/api/v1/tags").status_code == 429
    assert APIClient().get("/api/v1/tags").status_code == 200  # the address's own budget is untouched


# --- Race safety: one attempt however many calls with one idempotency key arrive at once.


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_calls_with_one_idempotency_key_make_one_attempt(live_server, staff_user, user):
    make_challenge(slug="quiz", xp=100, pass_score=60)
    _, secret = api_key_create(name="LMS", scopes=["ingest"], actor=staff_user)
    barrier = threading.Barrier(10)
    answers: list[tuple[int, str]] = []

    def call() -> None:
        barrier.wait()
        response = requests.post(
            f"{live_server.url}{INGEST}",
            json=body(user, idempotency_key="race"),
            headers={"Authorization": f"Api-Key {secret}"},
            timeout=30,
        )
        answers.append((response.status_code, response.json().get("id", response.text)))

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [200] * 9 + [201], answers
    assert len({attempt_id for _, attempt_id in answers}) == 1
    assert Attempt.objects.count() == 1 == IngestedAttempt.objects.count()
    assert drain_queue() >= 1
    assert User.objects.get(pk=user.pk).total_xp == 80
