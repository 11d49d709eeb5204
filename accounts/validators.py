from __future__ import annotations

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator


@cache
def available_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError("%(value)s is not a known IANA time zone name.", params={"value": value})


# One clear rule for usernames: 3 to 30 ASCII letters, digits, dots, underscores or hyphens,
# starting with a letter or digit. No look-alike Unicode, no control characters, no spaces.
validate_username = RegexValidator(
    r"\A[A-Za-z0-9][A-Za-z0-9._-]{2,29}\Z",
    "Usernames are 3-30 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.",
)

PROFILE_MAX_BYTES = 4096
PROFILE_MAX_DEPTH = 3


def _depth(value, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level - 1 if level > 1 else 0


def validate_json_object(value, *, max_bytes: int, max_depth: int, label: str) -> None:
    import json

    if not isinstance(value, dict):
        raise ValidationError(f"{label} must be a JSON object.")
    if len(json.dumps(value)) > max_bytes:
        raise ValidationError(f"{label} is too large (at most {max_bytes} bytes).")
    if _depth(value, 1) > max_depth:
        raise ValidationError(f"{label} is nested too deeply (at most {max_depth} levels).")


def validate_profile(value) -> None:
    validate_json_object(value, max_bytes=PROFILE_MAX_BYTES, max_depth=PROFILE_MAX_DEPTH, label="Profile")
