"""Recording staff actions. Call `audit_record` inside the action's transaction: both commit or neither."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from skillquest.audit.models import AuditEntry
from skillquest.logging import current_request_id


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of `instance` as JSON data; a many-to-many field as its sorted names."""
    values: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.many_to_many:
            values[name] = (
                sorted(str(related) for related in getattr(instance, name).all()) if instance.pk else []
            )
        else:
            values[name] = instance.serializable_value(name)
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"before": ..., "after": ...}}` for every field whose value differs."""
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    changes: Mapping[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Record one staff action (`actor` None: the system, e.g. a management command, or a client
    that is no account, such as an API key, named by `actor_name`)."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    staff = actor if getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=staff,
        actor_username=staff.get_username() if staff else actor_name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=json.loads(json.dumps(dict(changes or {}), cls=DjangoJSONEncoder)),
        request_id=current_request_id() or "",
    )


def audit_created(*, actor: Any, action: str, instance: models.Model, fields: Iterable[str]) -> AuditEntry:
    """Record a created object: every audited field, from nothing."""
    return audit_record(
        actor=actor, action=action, target=instance, changes=changes_between({}, snapshot(instance, fields))
    )


def audit_deleted(*, actor: Any, action: str, instance: models.Model, fields: Iterable[str]) -> AuditEntry:
    """Record an object about to be deleted (call it before the delete): every audited field, to nothing."""
    return audit_record(
        actor=actor, action=action, target=instance, changes=changes_between(snapshot(instance, fields), {})
    )


@contextmanager
def audit_changes(
    *, actor: Any, action: str, instance: models.Model, fields: Iterable[str]
) -> Iterator[None]:
    """Record what the block changes in the audited fields of `instance`; nothing if nothing changed."""
    fields = tuple(fields)
    before = snapshot(instance, fields)
    yield
    changes = changes_between(before, snapshot(instance, fields))
    if changes:
        audit_record(actor=actor, action=action, target=instance, changes=changes)
