"""A Python client generated from our schema by openapi-python-client, as a new API consumer would:
no config, no edits. Generation must print no warning, and the demo flow runs through the client
against a live server (no raw requests): every response, errors included, parses into its model.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from model_bakery import baker

from accounts.models import User
from challenges.models import Tag
from challenges.tests.helpers import drain_queue, make_challenge
from progress.models import Badge

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "skill_quest_api_client"  # from the schema's title, "SkillQuest API"
PASSWORD = "Correct-Horse-42-battery"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Iterator[ModuleType]:
    """The client package, generated from the schema the server serves (the same for every caller)."""
    root = tmp_path_factory.mktemp("client")
    schema = root / "openapi.json"
    schema.write_bytes(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema), "--output-path", str(root / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
        # Its post-generation hooks run ruff, which is in this virtualenv.
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    # Anything but the "Generating <dir>" line is a warning or an error (a missing model, a skipped
    # operation, an enum it cannot name, a hook that did not run).
    assert [line for line in output.splitlines() if not line.startswith("Generating ")] == [], output
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root / "out"))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Api:
    """The generated operations, called the way their README shows, each answer checked."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.base_url = base_url

    def anonymous(self) -> Any:
        return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def signed_in(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )

    def call(self, operation: str, status: int, model: str | type, **kwargs: Any) -> Any:
        """`operation` ("auth.auth_login_create") must answer `status`, parsed as `model`."""
        module = importlib.import_module(f"{PACKAGE}.api.{operation}")
        response = module.sync_detailed(**kwargs)
        assert response.status_code == status, response.content
        expected = getattr(self.models, model) if isinstance(model, str) else model
        assert isinstance(response.parsed, expected), (response.parsed, response.content)
        if status < 300:
            assert undocumented(response.parsed) == [], "fields the schema does not name"
        return response.parsed

    def error(self, operation: str, status: int, code: str, **kwargs: Any) -> Any:
        error = self.call(operation, status, "Error", **kwargs)
        assert error.code == code, error
        return error


def undocumented(value: Any, where: str = "") -> list[str]:
    """Fields of a parsed answer that the schema did not name (they land in `additional_properties`)."""
    if isinstance(value, list):
        return [name for index, item in enumerate(value) for name in undocumented(item, f"{where}[{index}]")]
    if not attrs.has(type(value)):
        return []
    found = [f"{where}.{key}" for key in getattr(value, "additional_properties", {})]
    for field in attrs.fields(type(value)):
        if field.name != "additional_properties":
            found += undocumented(getattr(value, field.name), f"{where}.{field.name}")
    return found


@pytest.fixture
def api(generated, live_server) -> Api:
    return Api(generated, live_server.url)


pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_flow_runs_through_the_generated_client(api, rates):
    m = api.models
    anonymous = api.anonymous()
    challenge = make_challenge(title="Hello, client", xp=40)
    Badge.objects.create(name="First steps", slug="first-steps", condition={"type": "xp", "threshold": 10})

    # Register: a refused body is a 400 with the fields' messages.
    refused = api.call(
        "auth.auth_register_create", 400, "ValidationError",
        client=anonymous, body=m.RegisterInputRequest(username="x", email="not-an-email", password=PASSWORD),
    )  # fmt: skip
    assert {"username", "email"} <= set(refused.additional_keys)
    created = api.call(
        "auth.auth_register_create", 201, "UserCreated",
        client=anonymous,
        body=m.RegisterInputRequest(username="gen", email="gen@example.com", password=PASSWORD),
    )  # fmt: skip

    # Login: a wrong password is a 401 with its code.
    api.error(
        "auth.auth_login_create", 401, "invalid_credentials",
        client=anonymous, body=m.LoginInputRequest(username="gen", password="wrong-password"),
    )  # fmt: skip
    tokens = api.call(
        "auth.auth_login_create", 200, "TokenPair",
        client=anonymous, body=m.LoginInputRequest(username="gen", password=PASSWORD),
    )  # fmt: skip
    player = api.signed_in(tokens.access_token)

    me = api.call("auth.auth_me_retrieve", 200, "Me", client=player)
    assert (me.id, me.email, me.timezone) == (created.id, "gen@example.com", "UTC")
    refused = api.call(
        "auth.auth_me_partial_update", 400, "ValidationError",
        client=player, body=m.PatchedMeRequest(timezone="Mars/Olympus"),
    )  # fmt: skip
    assert "timezone" in refused.additional_keys
    me = api.call(
        "auth.auth_me_partial_update",
        200,
        "Me",
        client=player,
        body=m.PatchedMeRequest(timezone="Europe/Paris"),
    )
    assert me.timezone == "Europe/Paris"

    # Challenges: players get the player's shape; a missing one is a 404.
    listed = api.call(
        "challenges.challenges_list", 200, "PaginatedChallengeForStaffOrPlayerList", client=player
    )
    assert [type(row) for row in listed.results] == [m.Challenge]
    assert listed.results[0].grading_type == m.GradingTypeEnum.SELF_REPORTED
    api.error("challenges.challenges_retrieve", 404, "not_found", client=anonymous, id=uuid4())

    # Start and submit; a second submit is a 409, an unknown challenge a 404.
    attempt = api.call(
        "attempts.attempts_create", 201, "Attempt",
        client=player, body=m.AttemptStartRequest(challenge_id=challenge.pk),
    )  # fmt: skip
    api.error(
        "attempts.attempts_create", 404, "challenge_not_found",
        client=player, body=m.AttemptStartRequest(challenge_id=uuid4()),
    )  # fmt: skip
    graded = api.call(
        "attempts.attempts_submit_create", 200, "Attempt",
        client=player, id=attempt.id, body=m.AttemptSubmitRequest(score=100),
    )  # fmt: skip
    assert graded.status == m.StatusEnum.PASSED
    api.error(
        "attempts.attempts_submit_create", 409, "attempt_already_submitted",
        client=player, id=attempt.id, body=m.AttemptSubmitRequest(score=100),
    )  # fmt: skip
    assert drain_queue() >= 1  # the award job, on a real RQ worker

    # Progress, leaderboard, badges (public: the anonymous client reads them too).
    progress = api.call("users.users_progress_retrieve", 200, "Progress", client=anonymous, id=created.id)
    assert (progress.total_xp, progress.recent_attempts[0].xp_awarded) == (40, 40)
    board = api.call("leaderboard.leaderboard_retrieve", 200, "Leaderboard", client=anonymous)
    assert [(row.username, row.xp) for row in board.results] == [("gen", 40)]
    assert (
        api.call(
            "leaderboard.leaderboard_retrieve",
            200,
            "Leaderboard",
            client=player,
            around=m.LeaderboardRetrieveAround.ME,
        ).me.rank
        == 1
    )
    api.error(
        "leaderboard.leaderboard_retrieve",
        401,
        "not_authenticated",
        client=anonymous,
        board=m.LeaderboardRetrieveBoard.FRIENDS,
    )
    api.error("leaderboard.leaderboard_retrieve", 404, "tag_not_found", client=anonymous, tag="no-such-tag")
    refused = api.call("leaderboard.leaderboard_retrieve", 400, "ValidationError", client=anonymous, limit=0)
    assert "limit" in refused.additional_keys
    catalogue = api.call("badges.badges_list", 200, list, client=anonymous)
    assert [type(badge) for badge in catalogue] == [m.Badge]
    earned = api.call("users.users_badges_list", 200, list, client=player, id=created.id)
    assert [item.badge.slug for item in earned] == ["first-steps"]
    api.error("users.users_progress_retrieve", 404, "user_not_found", client=anonymous, id=uuid4())

    # The one-call submit: the answer in the start's body, graded at once; a refused answer is a 400.
    second = make_challenge(title="In one call", xp=10)
    one_call = api.call(
        "attempts.attempts_create", 201, "Attempt",
        client=player, body=m.AttemptStartRequest(challenge_id=second.pk, score=70),
    )  # fmt: skip
    assert (one_call.status, one_call.score) == (m.StatusEnum.PASSED, 70)
    refused = api.call(
        "attempts.attempts_create", 400, "ValidationError",
        client=player, body=m.AttemptStartRequest(challenge_id=second.pk, solution="seventy"),
    )  # fmt: skip
    assert "score" in refused.additional_keys

    # Refresh (the old refresh token is revoked by it), then log out.
    fresh = api.call(
        "auth.auth_refresh_create", 200, "RefreshOutput",
        client=anonymous, body=m.RefreshInputRequest(refresh_token=tokens.refresh_token),
    )  # fmt: skip
    api.error(
        "auth.auth_refresh_create", 401, "token_not_valid",
        client=anonymous, body=m.RefreshInputRequest(refresh_token=tokens.refresh_token),
    )  # fmt: skip
    api.call(
        "auth.auth_logout_create", 204, type(None),
        client=anonymous, body=m.RefreshInputRequest(refresh_token=fresh.refresh_token),
    )  # fmt: skip
    api.error(
        "auth.auth_refresh_create", 401, "token_not_valid",
        client=anonymous, body=m.RefreshInputRequest(refresh_token=fresh.refresh_token),
    )  # fmt: skip

    # Too many logins (this minute's two already exceed one a minute): a 429 parses too.
    rates(login="1/minute")
    body = m.LoginInputRequest(username="gen", password=PASSWORD)
    api.error("auth.auth_login_create", 429, "throttled", client=anonymous, body=body)


def test_staff_create_and_list_through_the_generated_client(api):
    m = api.models
    staff = baker.make(User, username="gen-staff", email="gen-staff@example.com", is_staff=True)
    staff.set_password(PASSWORD)
    staff.save()
    player = baker.make(User, username="gen-player")
    player.set_password(PASSWORD)
    player.save()
    anonymous = api.anonymous()

    def sign_in(username: str) -> Any:
        body = m.LoginInputRequest(username=username, password=PASSWORD)
        return api.signed_in(
            api.call("auth.auth_login_create", 200, "TokenPair", client=anonymous, body=body).access_token
        )

    as_staff, as_player = sign_in("gen-staff"), sign_in("gen-player")
    make_challenge(title="Published", xp=10).tags.add(Tag.objects.create(name="Python", slug="python"))
    draft = m.ChallengeStaffRequest(
        title="Draft",
        slug="draft",
        xp=25,
        tags=["python"],
        grading={"type": "self_reported"},
        published=False,
    )

    created = api.call("challenges.challenges_create", 201, "ChallengeStaff", client=as_staff, body=draft)
    assert (created.tags, created.grading_type, created.created_by) == (
        ["python"], m.GradingTypeEnum.SELF_REPORTED, UUID(str(staff.pk))
    )  # fmt: skip
    refused = api.call("challenges.challenges_create", 400, "ValidationError", client=as_staff, body=draft)
    assert "slug" in refused.additional_keys
    api.error("challenges.challenges_create", 403, "permission_denied", client=as_player, body=draft)
    api.error(
        "challenges.challenges_create",
        401,
        "token_not_valid",
        client=api.signed_in("not-a-token"),
        body=draft,
    )

    # Staff read every challenge in the staff shape, players the published ones in theirs.
    for_staff = api.call(
        "challenges.challenges_list", 200, "PaginatedChallengeForStaffOrPlayerList", client=as_staff
    )
    assert {(row.title, type(row)) for row in for_staff.results} == {
        ("Published", m.ChallengeStaff), ("Draft", m.ChallengeStaff)
    }  # fmt: skip
    for_player = api.call(
        "challenges.challenges_list", 200, "PaginatedChallengeForStaffOrPlayerList", client=as_player
    )
    assert [(row.title, type(row), row.tags[0].slug) for row in for_player.results] == [
        ("Published", m.Challenge, "python")
    ]
    api.error("challenges.challenges_destroy", 404, "not_found", client=as_staff, id=uuid4())

    badge = api.call(
        "badges.badges_create", 201, "BadgeStaff",
        client=as_staff, body=m.BadgeStaffRequest(name="Ten", condition={"type": "xp", "threshold": 10}),
    )  # fmt: skip
    assert [type(row) for row in api.call("badges.badges_list", 200, list, client=as_staff)] == [m.BadgeStaff]
    assert api.call("badges.badges_retrieve", 200, m.Badge, client=as_player, id=badge.id).name == "Ten"


def test_a_stale_token_is_ignored_where_signing_in_is_not_needed(api):
    """The decision the schema's `security: []` documents: public operations answer a client whose
    token no longer verifies as anonymous; operations that need a player answer 401."""
    m = api.models
    make_challenge(title="Public", xp=10)
    stale = api.signed_in("eyJhbGciOiJIUzI1NiJ9.expired.or-revoked")
    listed = api.call(
        "challenges.challenges_list", 200, "PaginatedChallengeForStaffOrPlayerList", client=stale
    )
    assert [row.title for row in listed.results] == ["Public"]
    api.call("leaderboard.leaderboard_retrieve", 200, "Leaderboard", client=stale)
    api.error(
        "leaderboard.leaderboard_retrieve",
        401,
        "not_authenticated",
        client=stale,
        board=m.LeaderboardRetrieveBoard.FRIENDS,
    )
    api.error("auth.auth_me_retrieve", 401, "token_not_valid", client=stale)
