"""One attempt against real local HTTP servers: signed headers the `standardwebhooks` package verifies,
no redirects followed, answers read up to 64 KB, timeouts, refused connections, oversized bodies."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from progress.webhooks import sending
from progress.webhooks.services import new_secret

SECRET = new_secret()


class _Handler(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Handler.received.append((dict(self.headers.items()), body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            payload = b"x" * (1024 * 1024)
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        elif self.path == "/slow":
            time.sleep(1.0)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(204)
            self.end_headers()


@pytest.fixture
def server(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2  # the slow receiver's test sets its own
    _Handler.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_signed_attempt_verifies_with_standardwebhooks(server):
    body = sending.body_of(
        type="xp.awarded", created_at=datetime(2026, 12, 6, 12, tzinfo=UTC), data={"amount": 5}
    )
    outcome = sending.send(url=f"{server}/ok", secret=SECRET, message_id="msg_abc", body=body)
    assert outcome.succeeded and outcome.response_status == 204 and outcome.latency_ms > 0
    headers, received = _Handler.received[0]
    assert headers["webhook-id"] == "msg_abc"
    assert json.loads(received) == {
        "type": "xp.awarded",
        "timestamp": "2026-12-06T12:00:00Z",
        "data": {"amount": 5},
    }
    assert Webhook(SECRET).verify(received, headers) == json.loads(received)
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(received, headers)


def test_redirects_are_not_followed(server):
    outcome = sending.send(url=f"{server}/redirect", secret=SECRET, message_id="msg_r", body="{}")
    assert not outcome.succeeded and outcome.response_status == 302
    assert "redirects are not followed" in outcome.error
    assert len(_Handler.received) == 1


def test_a_large_answer_is_read_up_to_64_kb_and_logged_short(server):
    outcome = sending.send(url=f"{server}/big", secret=SECRET, message_id="msg_b", body="{}")
    assert outcome.succeeded and len(outcome.response_body) == sending.LOGGED_BODY_CHARS


def test_a_slow_receiver_times_out(server, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    outcome = sending.send(url=f"{server}/slow", secret=SECRET, message_id="msg_s", body="{}")
    assert not outcome.succeeded and outcome.error == "Timed out after 0.3 s."
    assert outcome.latency_ms < 900


def test_a_refused_connection_is_a_failure_to_retry(server, settings):
    outcome = sending.send(url="http://127.0.0.1:1/x", secret=SECRET, message_id="msg_c", body="{}")
    assert not outcome.succeeded and outcome.retry and "ConnectionRefusedError" in outcome.error


def test_a_body_over_64_kb_is_never_sent(server):
    body = json.dumps({"data": "x" * sending.BODY_MAX_BYTES})
    outcome = sending.send(url=f"{server}/ok", secret=SECRET, message_id="msg_l", body=body)
    assert not outcome.succeeded and not outcome.retry and _Handler.received == []


def _certificate(tmp_path, name: str, san: str) -> tuple[str, str]:
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *(
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-subj",
                f"/CN={name}",
                "-addext",
                f"subjectAltName={san}",
            ),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def tls_server(settings, tmp_path, monkeypatch):
    """An https receiver whose self-signed certificate this process trusts (SSL_CERT_FILE)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2

    def serve(san: str):
        cert, key = _certificate(tmp_path, "receiver", san)
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        _Handler.received = []
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"https://127.0.0.1:{httpd.server_address[1]}"

    servers: list[ThreadingHTTPServer] = []
    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_https_to_the_checked_address_verifies_the_certificate(tls_server):
    url = tls_server("IP:127.0.0.1")
    outcome = sending.send(url=f"{url}/ok", secret=SECRET, message_id="msg_tls", body="{}")
    assert outcome.succeeded, outcome.error
    assert _Handler.received[0][0]["webhook-id"] == "msg_tls"


def test_a_certificate_for_another_name_is_refused(tls_server):
    url = tls_server("DNS:hooks.example.test")
    outcome = sending.send(url=f"{url}/ok", secret=SECRET, message_id="msg_tls", body="{}")
    assert not outcome.succeeded and "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert _Handler.received == []
