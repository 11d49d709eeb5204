"""Log formatting and domain events: one JSON object per line, or a readable line with DEBUG on.

Fields bound with `log_context(...)` (the request id of a web request, the job id of an RQ job)
are added to every line logged while the context is active, from any logger, including Django's
and RQ's. The context lives in a ContextVar, so threads and async tasks never share it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
REDACTED = "[redacted]"
# One rule for logs and error reports: a key that names a secret hides its whole value, at any depth.
# `access`/`refresh` are simplejwt's token field names; `solution` may be a challenge's answer.
SENSITIVE_KEY = re.compile(
    r"passw|passphrase|secret|token|api_?key|signature|authoriz|cookie|sessionid|csrf|solution|^access$|^refresh$",
    re.IGNORECASE,
)
_MAX_DEPTH = 20


def is_sensitive_key(key: Any) -> bool:
    return isinstance(key, str) and bool(SENSITIVE_KEY.search(key))


def redact(value: Any, *, _depth: int = 0) -> Any:
    """A copy of `value` with the values of sensitive keys replaced, through nested dicts and lists."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {
            key: REDACTED if is_sensitive_key(key) else redact(item, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, _depth=_depth + 1) for item in value]
    return value


# A client-chosen id is echoed into logs and headers: only short, plain ids are accepted as they are.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

_context: ContextVar[dict[str, Any]] = ContextVar("skillquest_log_context", default={})  # noqa: B039


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every log line written inside the block (nested blocks add to the outer ones)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


def current_request_id() -> str | None:
    return _context.get().get("request_id")


def sane_request_id(candidate: str | None) -> str:
    """The caller's X-Request-ID if it is a plain id of 8-128 characters, else a fresh one."""
    if candidate and _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    merged = {**_context.get(), **{k: v for k, v in vars(record).items() if k not in _RESERVED}}
    return {key: (REDACTED if is_sensitive_key(key) else redact(value)) for key, value in merged.items()}


_LINE_KEYS = {"ts", "level", "logger", "event", "exc"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # The line's own keys win over an event field of the same name, which keeps its value as `field_`.
        fields = {(f"{key}_" if key in _LINE_KEYS else key): value for key, value in _fields(record).items()}
        payload: dict[str, Any] = {
            **fields,
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()} {extras}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def log_event(logger: logging.Logger, event: str, **fields: Any) -> None:
    """Log a domain event (`xp_awarded`, `badge_awarded`, ...) with its fields as structured data."""
    logger.info(event, extra=fields)


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error reports (500 pages with DEBUG, admin e-mails) with our broader idea of a secret.

    Settings, request META, POST parameters and every traceback frame's local variables are
    cleansed by key name, recursively, so `data = {"password": ...}` in a view's frame is hidden too.
    """

    # Service URLs (REDIS_URL, RQ_QUEUES' URL, CACHES' LOCATION) may carry a password.
    hidden_settings = re.compile(
        f"{SafeExceptionReporterFilter.hidden_settings.pattern}|{SENSITIVE_KEY.pattern}|URL$|LOCATION",
        re.IGNORECASE,
    )

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not parameters:
            return parameters
        cleansed = parameters.copy()
        for key in cleansed:
            if self.hidden_settings.search(key):
                cleansed[key] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleanse_setting(name, value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
