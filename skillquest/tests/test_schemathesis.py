"""schemathesis against /api/schema/: every operation, generated valid and invalid input, a fixed seed
and a time bound. No response may be a 500, and every response must conform to the schema.

Runs the `st` CLI against pytest-django's live server (the test database), as staff so that every
operation is reachable, and once more as a player.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from model_bakery import baker
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from challenges.ingest.services import api_key_create
from challenges.tests.helpers import make_challenge
from progress.models import Badge, Event, Quest
from skillquest.audit.models import AuditEntry

ST = str(Path(sys.executable).with_name("st"))
SEED = 20260701
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
MAX_TIME = int(os.environ.get("SCHEMATHESIS_MAX_TIME", "90"))  # seconds per run
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


# Sign out everywhere ends the identity the fuzzing runs as: every operation after it would only see
# 401s. The main runs leave it out; it is fuzzed on its own, as the last thing its account does.
SIGN_OUT_EVERYWHERE = "/auth/logout-all"


def _run(
    base_url: str,
    token: str,
    report: Path,
    *select: str,
    max_time: int = MAX_TIME,
    authorization: str = "",
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            *(ST, "run", f"{base_url}/api/schema/"),
            *select,
            *("--header", authorization or f"Authorization: Bearer {token}"),
            *("--checks", CHECKS),
            *("--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--max-time", str(max_time)),
            *("--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-color"),
            *("--report", "junit", "--report-junit-path", str(report)),
        ],
        capture_output=True,
        text=True,
        timeout=max_time + 120,
        cwd=report.parent,  # its cache of past failures stays out of the repository, each run starts fresh
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["staff", "player"])
def test_schemathesis_finds_no_500_and_no_schema_violation(live_server, role, tmp_path):
    account = baker.make(User, username=f"fuzz-{role}", is_staff=role == "staff")
    challenges = [make_challenge(xp=10 * (index + 1)) for index in range(3)]
    Badge.objects.create(name="Ten", slug="ten", condition={"type": "xp", "threshold": 10})
    # Something for the event and quest endpoints to answer with (their lists, today's quests).
    now = timezone.now()
    Event.objects.create(
        name="Fuzz week", slug="fuzz-week", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=6)
    ).challenges.set(challenges[:1])
    Quest.objects.create(name="Fuzz", kind="pass_challenges", params={"count": 2}, reward_xp=10)

    result = _run(
        live_server.url,
        str(AccessToken.for_user(account)),
        tmp_path / "junit.xml",
        *("--exclude-path-regex", SIGN_OUT_EVERYWHERE),
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "No issues found" in output or " passed" in output, output[-5000:]


@pytest.mark.django_db(transaction=True)
def test_schemathesis_on_sign_out_everywhere(live_server, tmp_path):
    account = baker.make(User, username="fuzz-sign-out")
    result = _run(
        live_server.url,
        str(AccessToken.for_user(account)),
        tmp_path / "junit.xml",
        *("--include-path-regex", SIGN_OUT_EVERYWHERE),
        max_time=15,  # one operation without a body: its examples are done long before
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "1 passed" in output or "No issues found" in output, output[-5000:]
    account.refresh_from_db()
    assert account.session_epoch >= 1  # it was really called, and signed the account out


@pytest.mark.django_db(transaction=True)
def test_schemathesis_on_ingestion_with_an_api_key(live_server, tmp_path):
    staff = baker.make(User, username="fuzz-keys", is_staff=True)
    baker.make(User, username="fuzz-player")
    make_challenge(slug="fuzz-quiz", xp=10)
    _, secret = api_key_create(name="Fuzz", scopes=["ingest", "read"], actor=staff)
    result = _run(
        live_server.url,
        "",
        tmp_path / "junit.xml",
        *("--include-path-regex", "/ingest/"),
        max_time=30,
        authorization=f"Authorization: Api-Key {secret}",
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "1 passed" in output or "No issues found" in output, output[-5000:]
    assert AuditEntry.objects.filter(action="api_key.use", actor_username="api-key:Fuzz").exists()


# Regressions schemathesis found (each was a 500 or a schema violation before its fix).


@pytest.mark.django_db
def test_a_tag_slug_with_a_nul_character_is_400_not_500(staff_client):
    body = {"title": "T", "slug": "t", "xp": 10, "tags": ["a\x00b"], "grading": {"type": "self_reported"}}
    response = staff_client.post("/api/v1/challenges/", body, format="json")
    assert response.status_code == 400, response.content
    assert "tags" in response.json()


@pytest.mark.django_db
def test_player_badges_are_a_plain_list_as_the_schema_says(api_client, user):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/users/{id}/badges/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "page" not in {parameter["name"] for parameter in operation.get("parameters", [])}
    response = api_client.get(f"/api/v1/users/{user.pk}/badges/", {"page_size": 0})
    assert response.status_code == 200
    assert response.json() == []
