"""Writing the outbox inside the transaction of the change it reports.

`outbox_record` is called by the award batch, staff grants and the badge evaluator while their
transaction is open (`outbox_sql` gives set-based writers the same rows as SQL, for recalculation's
badge award): the rows commit or roll back with the change, and the delivery job is scheduled
only once it has committed. To keep the award job fast it writes only the types some active endpoint
subscribes to (`subscriptions`, one Redis GET per call). An endpoint therefore hears of events from
about the moment its creation (or subscription) committed, not of earlier ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Field

from progress.models import OutboxEvent
from progress.webhooks.events import Event
from progress.webhooks.jobs import schedule_delivery
from progress.webhooks.subscriptions import subscribed_types


def outbox_record(events: Iterable[Event]) -> int:
    """Write the events some active endpoint subscribes to; return how many. `events` is only
    iterated when somebody subscribes to something, so a lazy generator costs nothing otherwise."""
    subscribed = subscribed_types()
    if not subscribed:
        return 0
    wanted = [event for event in events if event.type in subscribed]
    if not wanted:
        return 0
    if connection.vendor == "postgresql":
        _insert(wanted)
    else:
        OutboxEvent.objects.bulk_create(
            [OutboxEvent(type=event.type, data=event.data, created_at=event.created_at) for event in wanted]
        )
    transaction.on_commit(schedule_delivery, robust=True)
    return len(wanted)


@dataclass(frozen=True)
class OutboxSql:
    """An `INSERT INTO <outbox> ... SELECT ... FROM <source>` to end a set-based statement with."""

    sql: str
    params: list[Any]

    def recorded(self) -> None:
        """Call once the statement wrote rows: their delivery is scheduled when the transaction commits."""
        transaction.on_commit(schedule_delivery, robust=True)


def outbox_sql(type: str, data: tuple[str, list[Any]], *, source: str, at: str) -> OutboxSql | None:
    """For set-based writers (recalculation's badge award): the outbox rows of one event type as SQL
    over `source`'s rows, `data` an SQL expression (and its parameters) per row, `at` the time's
    placeholder; None when no active endpoint subscribes to `type` (then write nothing)."""
    if type not in subscribed_types():
        return None
    expression, params = data
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(name)) for name in ("id", "type", "data", "created_at"))
    return OutboxSql(
        sql=(
            f"INSERT INTO {quote(OutboxEvent._meta.db_table)} ({columns})"  # noqa: S608 (model metadata only)
            f" SELECT gen_random_uuid(), %s, {expression}, {at} FROM {source}"
        ),
        params=[type, *params],
    )


def _insert(events: list[Event]) -> None:
    """One INSERT ... SELECT from a single JSON parameter: an award batch writes ~3 rows per award, and
    the ORM's bulk_create spent ~30 µs of CPU per row building and adapting its parameters."""
    rows = json.dumps(
        [{"type": event.type, "data": event.data, "at": event.created_at.isoformat()} for event in events],
        cls=DjangoJSONEncoder,
    )
    quote = connection.ops.quote_name
    columns = {name: quote(_column(name)) for name in ("id", "type", "data", "created_at")}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(OutboxEvent._meta.db_table)}"  # noqa: S608 (model metadata only)
            f" ({columns['id']}, {columns['type']}, {columns['data']}, {columns['created_at']})"
            " SELECT gen_random_uuid(), e->>'type', e->'data', (e->>'at')::timestamptz"
            " FROM jsonb_array_elements(%s::jsonb) AS e",
            [rows],
        )


def _column(name: str) -> str:
    field = OutboxEvent._meta.get_field(name)
    assert isinstance(field, Field) and field.column is not None  # concrete fields only
    return field.column
