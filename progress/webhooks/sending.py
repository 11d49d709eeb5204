"""One HTTP attempt of a delivery: signed per Standard Webhooks, sent to the checked address.

The body is `{"type", "timestamp", "data"}`, the same bytes on every attempt; the headers are
`webhook-id` (the event's, stable across retries and redeliveries), `webhook-timestamp` (this
attempt's, which the signature covers and receivers check for freshness) and `webhook-signature`
(`v1,<base64 HMAC-SHA256>` by the `standardwebhooks` package). No redirect is followed (a 3xx is a
failure), the connection times out after WEBHOOK_TIMEOUT_SECONDS at each step, request bodies above
64 KB are not sent and at most 64 KB of an answer is read.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from standardwebhooks import Webhook

from progress.webhooks.targets import Target, UnsafeTarget, resolve

BODY_MAX_BYTES = 64 * 1024
LOGGED_BODY_CHARS = 1000
USER_AGENT = "SkillQuest-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    started_at: datetime
    latency_ms: float
    response_status: int | None = None
    error: str = ""
    response_body: str = ""
    retry: bool = True  # False: trying again cannot help (the body is too large)


def body_of(*, type: str, created_at: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "type": type,
            "timestamp": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to `address` (checked by `targets.resolve`) while naming `host` in the Host header."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above over TLS: the certificate is verified for `host` (SNI too), the socket goes to `address`."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def send(*, url: str, secret: str, message_id: str, body: str) -> Outcome:
    """POST `body` to `url` once, signed with `secret`; never raises for what the network does."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()

    def outcome(**fields: Any) -> Outcome:
        return Outcome(
            started_at=started_at, latency_ms=round((time.perf_counter() - clock) * 1000, 2), **fields
        )

    payload = body.encode()
    if len(payload) > BODY_MAX_BYTES:
        return outcome(succeeded=False, error=f"The payload is over {BODY_MAX_BYTES} bytes.", retry=False)
    try:
        target = resolve(url)  # again at every attempt: the name may point elsewhere now
    except UnsafeTarget as exc:
        return outcome(succeeded=False, error=f"Refused: {exc.message}")
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(started_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, started_at, body),
        "connection": "close",
    }
    try:
        connection.request("POST", target.path, body=payload, headers=headers)
        response = connection.getresponse()
        answer = response.read(BODY_MAX_BYTES)
    except TimeoutError:
        return outcome(succeeded=False, error=f"Timed out after {timeout:g} s.")
    except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a URL http.client refuses
        return outcome(succeeded=False, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    status = response.status
    text = answer.decode("utf-8", errors="replace")[:LOGGED_BODY_CHARS]
    if 200 <= status < 300:
        return outcome(succeeded=True, response_status=status, response_body=text)
    error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return outcome(succeeded=False, response_status=status, error=error, response_body=text)
