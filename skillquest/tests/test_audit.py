"""The CI audit step (.ci/audit.py, real pip-audit): fails on a vulnerable pin, not on a dead network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OSV_PORT = 8162
pytestmark = pytest.mark.serial
ADVISORY = {
    "id": "GHSA-test-0000-0000",
    "aliases": ["CVE-2099-0001"],
    "summary": "A made-up SQL injection for this test.",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.2.1"}]}],
        }
    ],
}


@pytest.fixture
def osv_server():
    """A local stand-in for the OSV query API that knows one advisory, for django 4.2.0."""
    queries = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            queries.append(query)
            vulnerable = query["package"]["name"] == "django" and query["version"] == "4.2.0"
            body = json.dumps({"vulns": [ADVISORY]} if vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", OSV_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{OSV_PORT}/v1/query", queries
    server.shutdown()
    server.server_close()


def audit(tmp_path, pins: str, **env):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(pins)
    return subprocess.run(
        [sys.executable, ".ci/audit.py", str(requirements), "--no-installed"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_known_vulnerable_pin_fails_the_step(tmp_path, osv_server):
    url, queries = osv_server
    result = audit(tmp_path, "Django==4.2.0\nsqlparse==0.6.1\n", AUDIT_OSV_URL=url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VULNERABLE: django==4.2.0: CVE-2099-0001 (fixed in: 4.2.1)" in result.stdout
    assert {(q["package"]["name"], q["version"]) for q in queries} == {
        ("django", "4.2.0"),
        ("sqlparse", "0.6.1"),
    }


def test_clean_pins_pass(tmp_path, osv_server):
    url, _ = osv_server
    result = audit(
        tmp_path, "Django==5.2.20\n# a comment\n-r other.txt\npsycopg[binary]==3.3.9\n", AUDIT_OSV_URL=url
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities in 2 pinned packages." in result.stdout


def test_unreachable_service_warns_but_does_not_fail(tmp_path):
    result = audit(
        tmp_path, "Django==5.2.19\n", AUDIT_OSV_URL="http://127.0.0.1:8163/v1/query", AUDIT_TIMEOUT="3"
    )
    assert result.returncode == 0
    assert "vulnerability audit NOT performed" in result.stdout


def test_unreachable_service_fails_when_strict(tmp_path):
    result = audit(
        tmp_path,
        "Django==5.2.19\n",
        AUDIT_OSV_URL="http://127.0.0.1:8163/v1/query",
        AUDIT_TIMEOUT="3",
        AUDIT_STRICT="1",
    )
    assert result.returncode == 1
    assert "vulnerability audit NOT performed" in result.stdout


def test_every_project_pin_is_audited(tmp_path, osv_server):
    """The real requirement files: every pin reaches the service (none silently dropped)."""
    url, queries = osv_server
    result = subprocess.run(
        [sys.executable, ".ci/audit.py", "--no-installed"],
        cwd=ROOT,
        env={**os.environ, "AUDIT_OSV_URL": url},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    pinned = {
        line.split("==")[0].split("[")[0].lower()
        for name in ("requirements.txt", "requirements-dev.txt", "requirements-bench.txt")
        for line in (ROOT / name).read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert result.returncode == 0, result.stdout + result.stderr
    assert {q["package"]["name"] for q in queries} == {name.replace("_", "-") for name in pinned}
