"""The catalog import: upsert challenges, badges and tags by slug from a file, all or nothing.

Everything is checked before anything is written: the file against the schema, then each item by the
rules the admin and the API apply (the grading config, the badge condition's class, the models' field
validators, tags that must exist, names that must stay unique). Any error: nothing is written and
every error is reported with its path (`challenges[3].xp`). Then, in one transaction, each new or
changed item goes through its service (`challenge_create`/`challenge_update`, `badge_create`/
`badge_update`), which audits it as the admin and the API do, and the import itself is audited as
`catalog.import`. A dry run reports the same result and writes nothing.

As with a badge created in the admin or the API, a new badge reaches players who already qualify at
their next award, or at once through the admin's "Re-evaluate badges" action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from accounts.models import User
from challenges import grading
from challenges import services as challenge_services
from challenges.models import Challenge, Tag
from progress.badges import conditions
from progress.badges import services as badge_services
from progress.catalog.schema import json_path, nul_characters, schema_errors
from progress.catalog.selectors import BADGE_FIELDS, CHALLENGE_FIELDS, TAG_FIELDS
from progress.models import Badge
from skillquest.audit.services import audit_changes, audit_created, audit_record

# What a new item gets for a field its entry leaves out (the models' defaults). An existing item keeps
# whatever its entry leaves out.
CHALLENGE_DEFAULTS: dict[str, Any] = {
    "description": "",
    "difficulty": Challenge.Difficulty.EASY.value,
    "pass_score": 50,
    "grading": {"type": "self_reported"},
    "published": False,
    "tags": [],
}
BADGE_DEFAULTS: dict[str, Any] = {"description": "", "icon": "", "secret": False, "is_active": True}


@dataclass
class Planned:
    """One item of the file as it will be written: created (`instance` None) or updated."""

    kind: str
    slug: str
    instance: models.Model | None
    fields: dict[str, Any]  # every catalog field, as it will be after the import
    changed: dict[str, list[Any]] = field(default_factory=dict)  # name: [before, after]


@dataclass
class Plan:
    items: list[Planned] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, path: Iterable[str | int], message: str) -> None:
        self.errors.append({"path": json_path(path), "message": message})

    def result(self, *, dry_run: bool) -> dict[str, Any]:
        changed = [item for item in self.items if item.changed] if not self.errors else []
        return {
            "dry_run": dry_run,
            "created": sum(1 for item in changed if item.instance is None),
            "updated": sum(1 for item in changed if item.instance is not None),
            "unchanged": 0 if self.errors else sum(1 for item in self.items if not item.changed),
            "changes": [
                {
                    "kind": item.kind,
                    "slug": item.slug,
                    "action": "created" if item.instance is None else "updated",
                    "fields": item.changed,
                }
                for item in changed
            ],
            "errors": self.errors,
        }


def catalog_import(*, document: Any, actor: User | None, dry_run: bool) -> dict[str, Any]:
    """Validate `document` (a parsed catalog file) and, unless `dry_run` or anything is wrong, apply it.

    Returns `{dry_run, created, updated, unchanged, changes, errors}`; with errors nothing was written.
    """
    plan = Plan(errors=nul_characters(document) or schema_errors(document))
    if plan.errors:
        return plan.result(dry_run=dry_run)
    with transaction.atomic():
        # Locked while planned and applied: a concurrent import or edit waits rather than interleaves.
        _plan_tags(plan, document.get("tags", []))
        _plan_challenges(plan, document.get("challenges", []))
        _plan_badges(plan, document.get("badges", []))
        if plan.errors or dry_run:
            return plan.result(dry_run=dry_run)
        try:
            with transaction.atomic():
                _apply(plan, actor=actor)
        except IntegrityError as exc:  # a rule the checks above missed: still nothing is written
            plan.error([], f"The database refused the import: {exc}".splitlines()[0])
            return plan.result(dry_run=dry_run)
        result = plan.result(dry_run=False)
        audit_record(
            actor=actor,
            action="catalog.import",
            target_type="progress.catalog",
            changes={
                **{name: result[name] for name in ("created", "updated", "unchanged")},
                "items": [f"{change['kind']}:{change['slug']}" for change in result["changes"]],
            },
        )
    return result


def _duplicates(plan: Plan, section: str, entries: list[dict[str, Any]], key: str) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        value = str(entry[key]).casefold() if key == "name" else entry[key]
        if value in seen:
            plan.error([section, index, key], f"Also given at {section}[{seen[value]}].")
        seen.setdefault(value, index)


def _model_errors(plan: Plan, path: list[str | int], instance: models.Model, exclude: list[str]) -> None:
    """The model's own field validation (validators, lengths, choices), reported per field."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                plan.error([*path, name] if name != "__all__" else path, message)


def _diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [None if before is None else before[name], value]
        for name, value in after.items()
        if before is None or before[name] != value
    }


def _plan_tags(plan: Plan, entries: list[dict[str, Any]]) -> None:
    _duplicates(plan, "tags", entries, "slug")
    _duplicates(plan, "tags", entries, "name")
    existing = {tag.slug: tag for tag in Tag.objects.select_for_update()}
    renamed = {entry["slug"] for entry in entries}
    names_kept = {tag.name.casefold(): slug for slug, tag in existing.items() if slug not in renamed}
    for index, entry in enumerate(entries):
        slug, tag = entry["slug"], existing.get(entry["slug"])
        holder = names_kept.get(entry["name"].casefold())
        if holder is not None and holder != slug:
            plan.error(["tags", index, "name"], f"The tag {holder!r} has this name.")
        after = {"name": entry["name"]}
        before = {name: getattr(tag, name) for name in TAG_FIELDS} if tag else None
        plan.items.append(Planned("tag", slug, tag, after, _diff(before, after)))


def _plan_challenges(plan: Plan, entries: list[dict[str, Any]]) -> None:
    _duplicates(plan, "challenges", entries, "slug")
    existing = {
        challenge.slug: challenge
        for challenge in Challenge.objects.select_for_update()
        .filter(slug__in=[entry["slug"] for entry in entries])
        .prefetch_related("tags")
    }
    known_tags = set(Tag.objects.values_list("slug", flat=True)) | {
        item.slug for item in plan.items if item.kind == "tag"
    }
    for index, entry in enumerate(entries):
        path: list[str | int] = ["challenges", index]
        challenge = existing.get(entry["slug"])
        before = (
            {
                **{name: getattr(challenge, name) for name in CHALLENGE_FIELDS},
                "tags": sorted(tag.slug for tag in challenge.tags.all()),
            }
            if challenge
            else None
        )
        after = {**(before or CHALLENGE_DEFAULTS), **{k: v for k, v in entry.items() if k != "slug"}}
        after = {name: after[name] for name in (*CHALLENGE_FIELDS, "tags")}
        after["tags"] = sorted(after["tags"])
        try:
            after["grading"] = grading.validate_config(after["grading"])
        except grading.GradingConfigError as exc:
            plan.error([*path, "grading"], str(exc))
        for position, slug in enumerate(entry.get("tags", [])):
            if slug not in known_tags:
                plan.error([*path, "tags", position], f"No tag {slug!r}: add it under `tags`.")
        draft = Challenge(slug=entry["slug"], **{name: after[name] for name in CHALLENGE_FIELDS})
        _model_errors(plan, path, draft, exclude=["tags", "created_by", "grading"])
        plan.items.append(Planned("challenge", entry["slug"], challenge, after, _diff(before, after)))


def _plan_badges(plan: Plan, entries: list[dict[str, Any]]) -> None:
    _duplicates(plan, "badges", entries, "slug")
    _duplicates(plan, "badges", entries, "name")
    existing = {badge.slug: badge for badge in Badge.objects.select_for_update()}
    in_file = {entry["slug"] for entry in entries}
    names_kept = {badge.name: slug for slug, badge in existing.items() if slug not in in_file}
    for index, entry in enumerate(entries):
        path: list[str | int] = ["badges", index]
        badge = existing.get(entry["slug"])
        before = {name: getattr(badge, name) for name in BADGE_FIELDS} if badge else None
        after = {**(before or BADGE_DEFAULTS), **{k: v for k, v in entry.items() if k != "slug"}}
        after = {name: after[name] for name in BADGE_FIELDS}
        try:
            after["condition"] = conditions.validate(after["condition"])
        except conditions.ConditionError as exc:
            plan.error([*path, "condition"], str(exc))
        holder = names_kept.get(after["name"])
        if holder is not None:
            plan.error([*path, "name"], f"The badge {holder!r} has this name.")
        draft = Badge(slug=entry["slug"], **after)
        _model_errors(plan, path, draft, exclude=["condition"])
        plan.items.append(Planned("badge", entry["slug"], badge, after, _diff(before, after)))


def _apply(plan: Plan, *, actor: User | None) -> None:
    appliers: dict[str, Callable[[Planned, User | None], None]] = {
        "tag": _apply_tag,
        "challenge": _apply_challenge,
        "badge": _apply_badge,
    }
    for item in plan.items:  # tags first: the challenges name them
        if item.changed:
            appliers[item.kind](item, actor)


def _apply_tag(item: Planned, actor: User | None) -> None:
    # Tags have no service of their own (the admin edits them as they are); audited here all the same.
    if item.instance is None:
        tag = Tag.objects.create(slug=item.slug, **item.fields)
        audit_created(actor=actor, action="tag.create", instance=tag, fields=("slug", *TAG_FIELDS))
        return
    with audit_changes(actor=actor, action="tag.update", instance=item.instance, fields=TAG_FIELDS):
        for name, value in item.fields.items():
            setattr(item.instance, name, value)
        item.instance.save()


def _apply_challenge(item: Planned, actor: User | None) -> None:
    fields = dict(item.fields)
    tags = list(Tag.objects.filter(slug__in=fields.pop("tags")))
    if item.instance is None:
        challenge_services.challenge_create(created_by=actor, tags=tags, slug=item.slug, **fields)
    else:
        assert isinstance(item.instance, Challenge)
        changed = {name: fields[name] for name in item.changed if name != "tags"}
        challenge_services.challenge_update(
            challenge=item.instance, actor=actor, tags=tags if "tags" in item.changed else None, **changed
        )


def _apply_badge(item: Planned, actor: User | None) -> None:
    if item.instance is None:
        badge_services.badge_create(actor=actor, slug=item.slug, **item.fields)
    else:
        assert isinstance(item.instance, Badge)
        changed = {name: item.fields[name] for name in item.changed}
        badge_services.badge_update(badge=item.instance, actor=actor, **changed)
