"""Statements built once per process, for the paths every request takes.

The ORM spends 0.15-0.3 ms of CPU compiling each query, more than PostgreSQL takes to answer a
primary-key lookup (bench/README.md, round 3). On the hottest paths (the JWT user, start, submit and
the progress endpoint) these helpers build their SQL once and turn rows into model instances as the ORM
does: the backend's and the field's converters, then `Model.from_db`. Saving goes through the
fields' own `pre_save` / `get_db_prep_save`, so defaults, `auto_now_add` and JSON adaptation are the
ORM's. Portable SQL only: the same statements run on PostgreSQL and on the SQLite quickstart.

Everything else reads and writes through the ORM; reach for this only where a benchmark says so.

Longer than ~250 lines on purpose: the loaders, the statement cache and the two writes share the
converter plumbing, and keeping them in one module keeps that plumbing private.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, overload

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import DEFERRED, Field, Model, Value

M = TypeVar("M", bound=Model)
A = TypeVar("A", bound=Model)
B = TypeVar("B", bound=Model)
C = TypeVar("C", bound=Model)

Converters = list[tuple[int, list[Callable[..., Any]]]]


class Columns(Generic[M]):
    """Some (or all) concrete columns of a model: how to SELECT them and load them back."""

    def __init__(self, model: type[M], fields: Sequence[str] | None = None) -> None:
        meta = model._meta
        self.model = model
        self.fields: list[Field] = (
            [_concrete_field(model, name) for name in fields] if fields else list(meta.concrete_fields)
        )
        if meta.pk in self.fields:
            self.fields.remove(meta.pk)
        self.fields.insert(0, meta.pk)  # first, so that a NULL key marks the missing side of a LEFT JOIN
        # Model.from_db() wants every concrete field in model order, DEFERRED where not loaded.
        position = {field: index for index, field in enumerate(self.fields)}
        self._order = [position.get(field) for field in meta.concrete_fields]
        self._attnames = [field.attname for field in meta.concrete_fields]
        self._converters: dict[str, Converters] = {}

    @property
    def using(self) -> str:
        # The primary unless the code path opted into replica reads (skillquest.replicas) outside a
        # transaction: the reads here that authenticate or precede a write never do (a replica behind
        # by a moment would answer "not found" for an attempt just started).
        return router.db_for_read(self.model)

    def select_list(self, alias: str) -> str:
        quote = connections[self.using].ops.quote_name
        return ", ".join(f"{alias}.{quote(_column(field))}" for field in self.fields)

    def load(self, values: Sequence[Any]) -> M:
        """A model instance from a row of `select_list()` values, as the ORM would build it."""
        using = self.using
        connection = connections[using]
        converters = self._converters.get(connection.vendor)
        if converters is None:
            table = self.model._meta.db_table
            converters = self._converters[connection.vendor] = _converters(
                [field.get_col(table) for field in self.fields], connection
            )
        row = _convert(values, converters, self.fields, connection)
        return self.model.from_db(
            using, self._attnames, [DEFERRED if index is None else row[index] for index in self._order]
        )


class Many:
    """A `Statement` parameter that is a list of values of `field`, written `IN (%s)` in the text: its
    one placeholder becomes one per value when the statement runs (`IN (NULL)` for an empty list,
    which matches nothing). Portable, unlike `= ANY(%s)`; each length is a text of its own."""

    def __init__(self, field: Field) -> None:
        self.field = field


# A placeholder, not an escaped percent sign followed by "s".
_PLACEHOLDER = re.compile(r"(?<!%)%s")


class Statement:
    """One SQL statement whose text depends only on the database vendor (and the lengths of its
    `Many` lists), built on first use.

    `build(table)` returns the text; `table(Model)` is the model's quoted table name.
    `params` are the fields the statement's parameters are compared with, in order: values are
    prepared by them for the database (a UUID is text on SQLite), as a queryset filter would be.
    """

    def __init__(
        self, build: Callable[[Callable[[type[Model]], str]], str], params: Sequence[Field | Many]
    ) -> None:
        self._build = build
        self.params = list(params)
        self._lists = [index for index, param in enumerate(self.params) if isinstance(param, Many)]
        self._text: dict[tuple[str, tuple[int, ...]], str] = {}

    @property
    def has_lists(self) -> bool:
        return bool(self._lists)

    def prepare(self, values: Sequence[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        prepared = []
        for param, value in zip(self.params, values, strict=True):
            if isinstance(param, Many):
                prepared += [param.field.get_db_prep_value(item, connection) for item in value]
            else:
                prepared.append(param.get_db_prep_value(value, connection))
        return prepared

    def text(self, connection: BaseDatabaseWrapper, values: Sequence[Any] = ()) -> str:
        """The statement's text; with `Many` parameters, for the lists in `values`."""
        lengths = tuple(len(values[index]) for index in self._lists)
        key = (connection.vendor, lengths)
        text = self._text.get(key)
        if text is None:
            quote = connection.ops.quote_name
            text = self._build(lambda model: quote(model._meta.db_table))
            if self._lists:
                parts = _PLACEHOLDER.split(text)
                if len(parts) != len(self.params) + 1:
                    raise ValueError(f"{len(parts) - 1} placeholders for {len(self.params)} parameters")
                counts = dict(zip(self._lists, lengths, strict=True))
                marks = [
                    ", ".join(["%s"] * counts[index]) or "NULL" if index in counts else "%s"
                    for index in range(len(self.params))
                ]
                text = "".join(part + mark for part, mark in zip(parts, [*marks, ""], strict=True))
            self._text[key] = text
        return text


@overload
def fetch_all(statement: Statement, params: Sequence[Any], first: Columns[A], /) -> list[tuple[A | None]]: ...
@overload
def fetch_all(
    statement: Statement, params: Sequence[Any], first: Columns[A], second: Columns[B], /
) -> list[tuple[A | None, B | None]]: ...
@overload
def fetch_all(
    statement: Statement, params: Sequence[Any], first: Columns[A], second: Columns[B], third: Columns[C], /
) -> list[tuple[A | None, B | None, C | None]]: ...
@overload
def fetch_all(
    statement: Statement, params: Sequence[Any], *columns: Columns[Any]
) -> list[tuple[Model | None, ...]]: ...
def fetch_all(statement: Statement, params: Sequence[Any], *columns: Columns[Any]) -> list[tuple[Any, ...]]:
    """Run a SELECT of `columns[0].select_list(...)`, `columns[1].select_list(...)`, ... and load each
    row's instances, one per `Columns`, in order (None for a part whose primary key is NULL: the
    missing side of a LEFT JOIN)."""
    connection = connections[columns[0].using]
    with connection.cursor() as cursor:
        cursor.execute(statement.text(connection, params), statement.prepare(params, connection))
        rows = cursor.fetchall()
    result = []
    for row in rows:
        instances: list[Model | None] = []
        start = 0
        for part in columns:
            end = start + len(part.fields)
            values = row[start:end]
            instances.append(None if values[0] is None else part.load(values))
            start = end
        result.append(tuple(instances))
    return result


@overload
def fetch_one(
    statement: Statement, params: Sequence[Any], first: Columns[A], /
) -> tuple[A | None] | None: ...
@overload
def fetch_one(
    statement: Statement, params: Sequence[Any], first: Columns[A], second: Columns[B], /
) -> tuple[A | None, B | None] | None: ...
@overload
def fetch_one(
    statement: Statement, params: Sequence[Any], *columns: Columns[Any]
) -> tuple[Model | None, ...] | None: ...
def fetch_one(
    statement: Statement, params: Sequence[Any], *columns: Columns[Any]
) -> tuple[Model | None, ...] | None:
    """`fetch_all` for a statement that finds at most one row; None without a row."""
    rows = fetch_all(statement, params, *columns)
    return rows[0] if rows else None


def fetch_values(
    statement: Statement | str, params: Sequence[Any], fields: Sequence[Field]
) -> list[tuple[Any, ...]]:
    """Rows of plain values, column i converted as the ORM converts a value of `fields[i]` (a UUID
    or a date is text on SQLite). A `str` statement's params must already be prepared."""
    model = next((field.model for field in fields if hasattr(field, "model")), None)
    connection = connections[router.db_for_read(model) if model else DEFAULT_DB_ALIAS]
    if isinstance(statement, Statement):
        text, params = statement.text(connection, params), statement.prepare(params, connection)
    else:
        text = statement
    converters = _converters([Value(None, output_field=field) for field in fields], connection)
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        rows = cursor.fetchall()
    return [tuple(_convert(row, converters, fields, connection)) for row in rows]


def _converters(expressions: Sequence[Any], connection: BaseDatabaseWrapper) -> Converters:
    """Per column, what the ORM's compiler would call on a value read for that expression."""
    found = []
    for index, expression in enumerate(expressions):
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if functions:
            found.append((index, functions))
    return found


def _convert(
    row: Sequence[Any], converters: Converters, fields: Sequence[Field], connection: BaseDatabaseWrapper
) -> list[Any]:
    values = list(row)
    for index, functions in converters:
        for convert in functions:
            values[index] = convert(values[index], fields[index], connection)
    return values


def insert(instance: Model, *, only_if: tuple[Statement, Sequence[Any]] | None = None) -> bool:
    """INSERT a new instance with every concrete column; its primary key must be set in Python.

    With `only_if=(statement, params)`, a SELECT, the row is inserted only if that SELECT finds a row
    when the INSERT runs (`INSERT ... SELECT ... WHERE EXISTS (...)`, one atomic statement): a check
    and the write it guards in one round trip. Returns whether the row was inserted (always True
    without a condition).

    For plain models only: fields computed by the database (GeneratedField, db_default) are not
    handled; use the ORM for those.
    """
    meta = instance._meta
    using = router.db_for_write(type(instance))
    connection = connections[using]
    condition, condition_params = only_if if only_if else (None, ())
    if condition is not None and condition.has_lists:
        raise ValueError("an only_if condition cannot have Many parameters (its text is kept per model)")
    key = (meta.label, connection.vendor, condition)
    statement = _INSERTS.get(key)
    if statement is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(_column(field)) for field in meta.concrete_fields)
        into = f"INSERT INTO {quote(meta.db_table)} ({columns})"
        if condition is None:
            marks = ", ".join(["%s"] * len(meta.concrete_fields))
            statement = f"{into} VALUES ({marks})"
        else:
            # A SELECT's parameters have no column to take their type from: PostgreSQL gets casts.
            typed = connection.vendor == "postgresql"
            marks = ", ".join(
                f"CAST(%s AS {field.cast_db_type(connection)})" if typed else "%s"
                for field in meta.concrete_fields
            )
            statement = f"{into} SELECT {marks} WHERE EXISTS ({condition.text(connection)})"
        _INSERTS[key] = statement
    values = []
    for field in meta.concrete_fields:
        value = field.pre_save(instance, add=True)  # defaults are already set; auto_now_add here
        values.append(field.get_db_prep_save(value, connection))
    if condition is not None:
        values += condition.prepare(condition_params, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        if condition is not None and cursor.rowcount != 1:
            return False
    instance._state.adding = False
    instance._state.db = using
    return True


# By model, vendor and condition (a module-level Statement, so the key lives as long as the process).
_INSERTS: dict[tuple[str, str, Statement | None], str] = {}


def update_if(instance: Model, fields: Sequence[str], *, expected: dict[str, Any]) -> bool:
    """UPDATE `fields` of a saved instance only while its row still holds `expected` values.

    One atomic statement: of two racing callers expecting the same old state, exactly one wins.
    Returns whether the row was updated. Sends no signals (the caller decides what to announce).
    """
    meta = instance._meta
    using = router.db_for_write(type(instance))
    connection = connections[using]
    quote = connection.ops.quote_name
    targets = [_concrete_field(type(instance), name) for name in fields]
    conditions = [_concrete_field(type(instance), name) for name in expected]
    key = (meta.label, connection.vendor, tuple(fields), tuple(expected))
    statement = _UPDATES.get(key)
    if statement is None:
        assignments = ", ".join(f"{quote(_column(field))} = %s" for field in targets)
        where = " AND ".join(f"{quote(_column(field))} = %s" for field in [meta.pk, *conditions])
        statement = _UPDATES[key] = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {where}"  # noqa: S608
    values = [field.get_db_prep_save(field.pre_save(instance, add=False), connection) for field in targets]
    values.append(meta.pk.get_db_prep_value(instance.pk, connection))
    values += [field.get_db_prep_value(expected[field.name], connection) for field in conditions]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        return cursor.rowcount == 1


_UPDATES: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], str] = {}


def update_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    increment: Sequence[str] = (),
) -> int:
    """UPDATE many rows, each by primary key to its own values, in one statement; return the count.

    `rows` are `(pk, value, ...)` in the order of `fields`; a field named in `increment` is added to
    the column (`total_xp = total_xp + v`) instead of replacing it. One `UPDATE ... FROM (VALUES ...)`:
    the ORM's `Case(When(pk=...))` (and `bulk_update`, which builds the same) spent ~0.5 ms of CPU per
    row compiling and PostgreSQL O(rows²) evaluating it, most of an award batch (bench/README.md).
    Values go through each field's `get_db_prep_save`; no signals, no `pre_save` (pass final values).
    """
    if not rows:
        return 0
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = model._meta
    targets = [meta.pk, *(_concrete_field(model, name) for name in fields)]
    table = quote(meta.db_table)
    assignments = ", ".join(
        f"{quote(_column(field))} = "
        + (f"{table}.{quote(_column(field))} + " if field.name in increment else "")
        + f"v.column{index}"
        for index, field in enumerate(targets[1:], start=2)
    )
    # VALUES columns are column1, column2, ... on both engines. PostgreSQL types them from the
    # first row, so that row casts each parameter to its column's type; SQLite needs no casts.
    typed = connection.vendor == "postgresql"
    first = ", ".join(f"CAST(%s AS {field.cast_db_type(connection)})" if typed else "%s" for field in targets)
    other = ", ".join(["%s"] * len(targets))
    values_sql = ", ".join([f"({first})", *[f"({other})"] * (len(rows) - 1)])
    statement = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {values_sql}) AS v"  # noqa: S608 (model metadata only)
        f" WHERE {table}.{quote(_column(meta.pk))} = v.column1"
    )
    params: list[Any] = []
    for row in rows:
        if len(row) != len(targets):
            raise ValueError(f"each row needs the primary key and {len(fields)} values, got {len(row)}")
        params += [field.get_db_prep_save(v, connection) for field, v in zip(targets, row, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _concrete_field(model: type[Model], name: str) -> Field:
    """The forward field `name` of `model`: these statements name columns, never a reverse relation."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model._meta.label}.{name} is a reverse relation, not a column")
    return field


def _column(field: Field) -> str:
    """A field's column: every field these statements read or write has one (not a many-to-many)."""
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column
