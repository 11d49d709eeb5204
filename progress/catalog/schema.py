"""The catalog file's JSON Schema, built from the models and registries so that it cannot drift from them.

The schema says the shape (types, lengths, ranges, choices, which keys a grading type or a condition
type takes); the rules it cannot say (a regex that backtracks, a tag that must exist, a badge name
another badge has) are checked by the same code the admin and the API use (`services.catalog_import`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator

from challenges import grading
from challenges.models import XP_MAX, XP_MIN, Challenge, Tag
from progress.badges import conditions
from progress.models import Badge

VERSION = 1
SCHEMA_ID = "urn:skillquest:catalog:v1"
MAX_ITEMS = 5_000
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"

# The keys each grading type takes besides "type" (challenges.grading.validate_config checks values).
GRADING_KEYS: dict[str, dict[str, Any]] = {
    "self_reported": {},
    "exact": {"answer": {"type": "string", "minLength": 1}, "case_sensitive": {"type": "boolean"}},
    "regex": {"pattern": {"type": "string", "minLength": 1}},
    "numeric": {"answer": {"type": "number"}, "tolerance": {"type": "number", "minimum": 0}},
}
GRADING_REQUIRED = {"exact": ["answer"], "regex": ["pattern"], "numeric": ["answer"]}


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def _string(model, name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": _max_length(model, name), **extra}


def _slug(model) -> dict[str, Any]:
    return _string(model, "slug", minLength=1, pattern=SLUG_PATTERN)


def _grading() -> dict[str, Any]:
    assert set(GRADING_KEYS) == set(grading.GRADING_TYPES), "a grading type without catalog keys"
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(grading.GRADING_TYPES)}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": kind}}},
                "then": {
                    "properties": {"type": {"const": kind}, **keys},
                    "required": ["type", *GRADING_REQUIRED.get(kind, [])],
                    "additionalProperties": False,
                },
            }
            for kind, keys in GRADING_KEYS.items()
        ],
    }


def _condition() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(conditions.REGISTRY)}},
        "description": "Each type's settings are checked by its class in progress/badges/conditions/.",
        "allOf": [
            {
                "if": {"properties": {"type": {"const": kind}}},
                "then": {"propertyNames": {"enum": ["type", *sorted(cls.keys)]}},
            }
            for kind, cls in conditions.REGISTRY.items()
        ],
    }


def catalog_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a catalog file."""
    challenge = {
        "type": "object",
        "additionalProperties": False,
        "required": ["slug", "title", "xp"],
        "properties": {
            "slug": _slug(Challenge),
            "title": _string(Challenge, "title", minLength=1),
            "description": {"type": "string", "description": "Markdown."},
            "xp": {"type": "integer", "minimum": XP_MIN, "maximum": XP_MAX},
            "difficulty": {"enum": list(Challenge.Difficulty.values)},
            "pass_score": {"type": "integer", "minimum": 0, "maximum": 100},
            "grading": _grading(),
            "published": {"type": "boolean"},
            "tags": {
                "type": "array",
                "items": _slug(Tag),
                "uniqueItems": True,
                "description": "Tag slugs: each must exist or be listed under `tags`.",
            },
        },
    }
    badge = {
        "type": "object",
        "additionalProperties": False,
        "required": ["slug", "name", "condition"],
        "properties": {
            "slug": _slug(Badge),
            "name": _string(Badge, "name", minLength=1),
            "description": {"type": "string"},
            "icon": _string(Badge, "icon", description="An emoji or an http(s) URL; empty for none."),
            "condition": _condition(),
            "secret": {"type": "boolean"},
            "is_active": {"type": "boolean"},
        },
    }
    tag = {
        "type": "object",
        "additionalProperties": False,
        "required": ["slug", "name"],
        "properties": {"slug": _slug(Tag), "name": _string(Tag, "name", minLength=1)},
    }

    def items(item: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "maxItems": MAX_ITEMS, "items": item}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "SkillQuest catalog",
        "description": "Challenges, badges and tags, upserted by slug on import; nothing is deleted.",
        "type": "object",
        "additionalProperties": False,
        "required": ["version"],
        "properties": {
            "version": {"const": VERSION},
            "challenges": items(challenge),
            "badges": items(badge),
            "tags": items(tag),
        },
    }


def json_path(parts: Iterable[str | int]) -> str:
    """`["challenges", 3, "xp"]` as `challenges[3].xp`; the document itself is `$`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def _order(parts: Iterable[str | int]) -> list[tuple[int, int, str]]:
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in parts]


def schema_errors(document: Any) -> list[dict[str, str]]:
    """Every place `document` breaks the schema, in document order, as `{path, message}`."""
    validator = Draft202012Validator(catalog_schema())
    found = sorted(validator.iter_errors(document), key=lambda error: _order(error.absolute_path))
    errors: list[dict[str, str]] = []
    for error in found:
        # An if/then failure repeats under each branch it tried: report each place and message once.
        entry = {"path": json_path(error.absolute_path), "message": error.message}
        if entry not in errors:
            errors.append(entry)
    return errors


# Far deeper than any catalog (a grading config is three levels down): a document nested past it is
# refused at that point rather than walked, so no input can exhaust the stack or the CPU.
MAX_DEPTH = 32


def nul_characters(document: Any) -> list[dict[str, str]]:
    """Strings holding a NUL character, which PostgreSQL can store in no text or JSON column; and
    anything nested deeper than MAX_DEPTH. Walked with a stack of its own, not by recursion."""
    errors = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                errors.append({"path": json_path(path), "message": "Must not contain NUL characters."})
        elif isinstance(value, dict | list):
            if len(path) >= MAX_DEPTH:
                errors.append({"path": json_path(path), "message": f"Nested deeper than {MAX_DEPTH} levels."})
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in reversed(list(items)):
                stack.append((item, (*path, key if isinstance(value, list) else str(key))))
                if isinstance(key, str):
                    stack.append((key, (*path, "<key>")))
    return errors
