"""1EdTech's own validator (openbadges-validator-core, `badgecheck`) on our assertions, fetched over HTTP
from pytest-django's live server: no error and no warning on ours, errors on forged and broken ones.

The validator lives in .venv-badgecheck (`make .venv-badgecheck/.installed`; `make test` builds it:
requirements-badgecheck.txt says why it is a venv of its own) and runs as a subprocess through
scripts/badgecheck_verify.py, which hands it the Open Badges JSON-LD context from the copy it ships,
so that nothing is fetched from the internet. It fetches 127.0.0.1 rather than `localhost`: its URL
check (validators 0.11) refuses a host name without a dot.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from progress.models import UserBadge
from progress.openbadges.services import badge_award_revoke

ROOT = Path(__file__).resolve().parents[3]
VALIDATOR = ROOT / ".venv-badgecheck" / "bin" / "python"
RUNNER = ROOT / "scripts" / "badgecheck_verify.py"
EMAIL = "alice@example.com"  # the `verified` player's address, lower-cased

pytestmark = pytest.mark.django_db(transaction=True)


def badgecheck(badge: str, *, email: str | None = EMAIL) -> dict[str, Any]:
    assert VALIDATOR.exists(), "run `make .venv-badgecheck/.installed` first (make test does)"
    command = [str(VALIDATOR), str(RUNNER), badge, *(["--email", email] if email else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def messages(result: dict[str, Any]) -> list[str]:
    return [f"{message['messageLevel']}: {message['result']}" for message in result["report"]["messages"]]


@pytest.fixture
def site(live_server, settings) -> str:
    """The live server's address, which every absolute URL of ours must then name."""
    url = live_server.url.replace("localhost", "127.0.0.1")
    settings.SITE_URL = url
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    return url


@pytest.fixture
def other_origin() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A second HTTP server on loopback, serving whatever a test puts in its dict of path -> body."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/ld+json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("secret", [False, True], ids=["public badge", "secret badge"])
@pytest.mark.parametrize("suffix", ["", ".png"], ids=["assertion", "baked image"])
def test_badgecheck_finds_no_error_and_no_warning_in_ours(site, make_award, secret, suffix):
    award = make_award(secret=secret)
    url = f"{site}/ob/assertions/{award.assertion_id}"
    result = badgecheck(url + suffix)
    report = result["report"]
    assert (report["valid"], report["errorCount"], report["warningCount"]) == (True, 0, 0), messages(result)
    assert report["recipientProfile"] == {"email": EMAIL}
    # It fetched and checked the whole chain: assertion, BadgeClass, issuer.
    badge_class = f"{url}/badge" if secret else f"{site}/ob/badges/{award.badge_id}"
    types = {node["id"]: node["type"] for node in result["graph"] if "type" in node}
    assert types == {url: "Assertion", badge_class: "BadgeClass", f"{site}/ob/issuer": "Issuer"}


def test_badgecheck_refuses_another_recipient(site, award):
    result = badgecheck(f"{site}/ob/assertions/{award.assertion_id}", email="mallory@example.com")
    assert result["report"]["valid"] is False
    assert any("did not match assertion" in line for line in messages(result)), messages(result)


def test_badgecheck_refuses_an_assertion_forged_elsewhere_for_our_badge(site, award, client, other_origin):
    """Our real assertion, with the recipient and id changed and hosted on another origin."""
    origin, served = other_origin
    forged = client.get(f"/ob/assertions/{award.assertion_id}").json()
    forged["id"] = f"{origin}/forged"
    forged["recipient"] = {"type": "email", "hashed": False, "identity": "mallory@example.com"}
    served["/forged"] = json.dumps(forged).encode()
    result = badgecheck(f"{origin}/forged", email="mallory@example.com")
    assert result["report"]["valid"] is False
    assert any("not hosted in allowed origins" in line for line in messages(result)), messages(result)


def test_badgecheck_refuses_an_assertion_whose_badge_was_swapped(site, award, client, other_origin):
    """An assertion of ours pointing at a BadgeClass (and issuer) that another origin hosts."""
    origin, served = other_origin
    ours = client.get(f"/ob/assertions/{award.assertion_id}").json()
    badge_class = client.get(ours["badge"].removeprefix(site)).json()
    issuer = client.get(badge_class["issuer"].removeprefix(site)).json()
    forged = {**ours, "id": f"{origin}/assertion", "badge": f"{origin}/badge"}
    served["/assertion"] = json.dumps(forged).encode()
    served["/badge"] = json.dumps({**badge_class, "id": f"{origin}/badge", "issuer": issuer["id"]}).encode()
    result = badgecheck(f"{origin}/assertion")
    assert result["report"]["valid"] is False
    assert any("not hosted in allowed origins" in line for line in messages(result)), messages(result)


def test_badgecheck_refuses_an_assertion_served_with_a_wrong_id(site, award, settings):
    """A server whose SITE_URL is not its address: the documents name URLs that do not serve them."""
    settings.SITE_URL = "http://127.0.0.1:9"  # the discard port: nothing answers there
    result = badgecheck(f"{site}/ob/assertions/{award.assertion_id}")
    assert result["report"]["valid"] is False
    assert result["report"]["errorCount"] >= 1, messages(result)
    assert any("declared its id as http://127.0.0.1:9/" in line for line in messages(result)), messages(
        result
    )


def test_badgecheck_refuses_a_revoked_assertion(site, award, staff_user):
    badge_award_revoke(award_id=award.pk, reason="Shared the answers", actor=staff_user)
    assert UserBadge.objects.get(pk=award.pk).revoked_at is not None
    result = badgecheck(f"{site}/ob/assertions/{award.assertion_id}")
    assert result["report"]["valid"] is False
    # The 410's body says `revoked`; it is no assertion, and the validator says so.
    assert result["report"]["errorCount"] >= 1, messages(result)
    assert any("Required property recipient not present" in line for line in messages(result)), messages(
        result
    )
