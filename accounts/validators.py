from __future__ import annotations

import json
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
# Surrounding whitespace is trimmed by the form and API fields before this rule applies.
validate_username = RegexValidator(
    r"\A[A-Za-z0-9][A-Za-z0-9._-]{2,29}\Z",
    "Usernames are 3-30 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.",
)

PROFILE_MAX_BYTES = 4096
PROFILE_MAX_DEPTH = 3


def _check_structure(value, *, max_depth: int, label: str) -> None:
    """Walk without recursion (a hostile body may be nested thousands deep): depth and NUL characters.

    PostgreSQL cannot store U+0000 in jsonb, so it is refused here as bad input rather than
    failing at save time.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise ValidationError(f"{label} is nested too deeply (at most {max_depth} levels).")
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            if isinstance(key, str) and "\x00" in key:
                raise ValidationError(f"{label} must not contain NUL characters.")
            if isinstance(child, str) and "\x00" in child:
                raise ValidationError(f"{label} must not contain NUL characters.")
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def validate_json_object(value, *, max_bytes: int, max_depth: int, label: str) -> None:
    if not isinstance(value, dict):
        raise ValidationError(f"{label} must be a JSON object.")
    _check_structure(value, max_depth=max_depth, label=label)
    if len(json.dumps(value)) > max_bytes:
        raise ValidationError(f"{label} is too large (at most {max_bytes} bytes).")


def validate_profile(value) -> None:
    validate_json_object(value, max_bytes=PROFILE_MAX_BYTES, max_depth=PROFILE_MAX_DEPTH, label="Profile")
