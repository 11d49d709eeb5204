"""Log formatting and domain events: one JSON object per line, or a readable line with DEBUG on."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_REDACTED_KEYS = {"password", "token", "access_token", "refresh_token", "solution", "authorization"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: ("[redacted]" if key.lower() in _REDACTED_KEYS else value)
        for key, value in vars(record).items()
        if key not in _RESERVED
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
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
