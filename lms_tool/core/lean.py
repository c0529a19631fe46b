"""Lean reads for the hot paths (every launch, every page): equality filters without the ORM's compiler.

Building and compiling a one-table ``filter(...).first()`` costs ~0.3 ms of CPU on SQLite and ~0.5 ms
with psycopg on a 2-vCPU machine, more than running it; a launch made a dozen of them. The SQL of
these lookups never changes, so it is built once per (model, columns) from the model's metadata;
values go through the fields' own preparation (a model instance given for a foreign key is taken by
its primary key), ``None`` means ``IS NULL``, and rows become instances as the ORM makes them
(``from_db`` after the same database converters), so nothing downstream can tell the difference.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import math
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=Model)
# A part of a joined read: (model, table alias in the SQL, field names left deferred).
Part = tuple[type[Model], str, frozenset[str]]
_Plan = tuple[str, list[str], list[tuple[Any, tuple[Callable[..., Any], ...]]], list[Field]]


@functools.lru_cache(maxsize=64)
def _plan(
    model: type[Model],
    columns: tuple[tuple[str, bool], ...],
    limit: int,
    alias: str,
    probe: bool,
    without: frozenset[str] = frozenset(),
    lock: bool = False,
) -> _Plan:
    connection = connections[alias]
    qn = connection.ops.quote_name
    opts = model._meta
    fields = [f for f in opts.concrete_fields if f.attname not in without or f.primary_key]
    where = [cast(Field, opts.get_field(name)) for name, _ in columns]
    select = "1" if probe else ", ".join(qn(str(f.column)) for f in fields)
    conditions = " AND ".join(
        f"{qn(str(f.column))} IS NULL" if is_null else f"{qn(str(f.column))} = %s"
        for f, (_, is_null) in zip(where, columns, strict=True)
    )
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    sql = (
        f"SELECT {select} FROM {qn(opts.db_table)} WHERE {conditions} "  # noqa: S608
        f"ORDER BY {qn(str(opts.pk.column))} LIMIT {int(limit)}"  # type: ignore[union-attr]
    )
    if lock and connection.features.has_select_for_update:  # SQLite serialises writers by itself: no FOR UPDATE
        sql += " FOR UPDATE"
    converters = []
    for f in fields:
        col = f.get_col(opts.db_table)
        converters.append((col, tuple(connection.ops.get_db_converters(col) + f.get_db_converters(connection))))
    return sql, [f.attname for f in fields], converters, [f for f, (_, n) in zip(where, columns, strict=True) if not n]


def _query(
    model: type[Model],
    where: dict[str, Any],
    limit: int,
    *,
    probe: bool,
    without: frozenset[str] = frozenset(),
    lock: bool = False,
) -> tuple[str, list[Any], _Plan]:
    alias = router.db_for_write(model) if lock else router.db_for_read(model)
    connection = connections[alias]
    columns = tuple((name, value is None) for name, value in where.items())
    plan = _plan(model, columns, limit, alias, probe, without, lock)
    values = [v.pk if isinstance(v, Model) else v for v in where.values() if v is not None]
    params = [f.get_db_prep_value(value, connection) for f, value in zip(plan[3], values, strict=True)]
    return alias, params, plan


def rows(
    model: type[M], where: dict[str, Any], *, limit: int = 1, without: frozenset[str] = frozenset(), lock: bool = False
) -> list[M]:
    """``model.objects.filter(**where).order_by("pk")[:limit]`` (equality on the model's own fields only);
    the fields named in ``without`` are left deferred, as ``.defer()`` leaves them. ``lock``: the rows stay locked
    until the transaction ends, as ``select_for_update()`` locks them (call it inside ``transaction.atomic``)."""
    alias, params, (sql, names, converters, _) = _query(model, where, limit, probe=False, without=without, lock=lock)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    result = []
    for row in fetched:
        values = list(row)
        for i, (col, funcs) in enumerate(converters):
            for func in funcs:
                values[i] = func(values[i], col, connection)
        result.append(model.from_db(alias, names, values))
    return result


def first(
    model: type[M], where: dict[str, Any], *, without: frozenset[str] = frozenset(), lock: bool = False
) -> M | None:
    found = rows(model, where, limit=1, without=without, lock=lock)
    return found[0] if found else None


def reference(model: type[M], **values: Any) -> M:
    """A row the caller knows is there, as ``model.objects.only(*values)`` would read it, without reading it: the
    fields named (by attname: ``context_id``) set, the others deferred (the ORM reads them on first use)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    if len(names) != len(values):
        raise ValueError(f"not columns of {model.__name__}: {sorted(set(values) - set(names))}")
    return model.from_db(router.db_for_read(model), names, [values[name] for name in names])


@functools.cache
def only(model: type[Model], *keep: str) -> frozenset[str]:
    """The ``without`` of a read that loads only ``keep`` and the key, as ``.only(*keep)`` does."""
    return frozenset(f.attname for f in model._meta.concrete_fields if f.name not in keep and f.attname not in keep)


def exists(model: type[Model], where: dict[str, Any]) -> bool:
    alias, params, (sql, *_) = _query(model, where, 1, probe=True)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


@functools.lru_cache(maxsize=32)
def _shape(
    model: type[Model], db_alias: str
) -> tuple[list[str], list[str], list[tuple[Any, tuple[Callable[..., Any], ...]]]]:
    connection = connections[db_alias]
    opts = model._meta
    fields = list(opts.concrete_fields)
    converters = []
    for f in fields:
        col = f.get_col(opts.db_table)
        converters.append((col, tuple(connection.ops.get_db_converters(col) + f.get_db_converters(connection))))
    return [connection.ops.quote_name(str(f.column)) for f in fields], [f.attname for f in fields], converters


def rows_from(model: type[M], table_alias: str, tail: str, params: list[Any]) -> list[M]:
    """Rows of ``model`` from ``SELECT <table_alias>.<each column of model> <tail>``: a fixed join written once
    by the caller (identifiers from model metadata only, values as parameters), rows made as the ORM makes them."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    columns, names, converters = _shape(model, alias)
    select = ", ".join(f"{table_alias}.{column}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} {tail}", params)
        fetched = cursor.fetchall()
    result = []
    for row in fetched:
        values = list(row)
        for i, (col, funcs) in enumerate(converters):
            for func in funcs:
                values[i] = func(values[i], col, connection)
        result.append(model.from_db(alias, names, values))
    return result


@functools.lru_cache(maxsize=32)
def _shape_without(
    model: type[Model], db_alias: str, without: frozenset[str]
) -> tuple[list[str], list[str], list[tuple[Any, tuple[Callable[..., Any], ...]]]]:
    columns, names, converters = _shape(model, db_alias)
    kept = [i for i, name in enumerate(names) if name not in without]
    return [columns[i] for i in kept], [names[i] for i in kept], [converters[i] for i in kept]


def joined_from(parts: tuple[Part, ...], extra: tuple[str, ...], tail: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a fixed join, each as (an instance of each part's model, then each ``extra`` value): ``parts`` are
    (model, table alias, field names left deferred), ``extra`` column expressions after them (identifiers from
    model metadata only, written once by the caller), ``tail`` the FROM ... WHERE ... with values as parameters.
    One statement where the ORM would compile a join with ``select_related`` on every call."""
    alias = router.db_for_read(parts[0][0])
    connection = connections[alias]
    shapes = [_shape_without(model, alias, without) for model, _, without in parts]
    select = [f"{table}.{column}" for (_, table, _), shape in zip(parts, shapes, strict=True) for column in shape[0]]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join([*select, *extra])} {tail}", params)
        fetched = cursor.fetchall()
    result = []
    for row in fetched:
        values, start, made = list(row), 0, []
        for (model, _, _), (columns, names, converters) in zip(parts, shapes, strict=True):
            own = values[start : start + len(columns)]
            for i, (col, funcs) in enumerate(converters):
                for func in funcs:
                    own[i] = func(own[i], col, connection)
            made.append(model.from_db(alias, names, own))
            start += len(columns)
        result.append((*made, *values[start:]))
    return result


@functools.lru_cache(maxsize=32)
def _insert_shape(model: type[Model], db_alias: str) -> tuple[list[Field], str, str, str | None]:
    connection = connections[db_alias]
    opts = model._meta
    qn = connection.ops.quote_name
    # As bulk_create inserts: every concrete column but an auto-incremented key and generated columns.
    fields = [f for f in opts.local_concrete_fields if f is not opts.auto_field and not getattr(f, "generated", False)]
    columns = ", ".join(qn(str(f.column)) for f in fields)
    returning = f" RETURNING {qn(str(opts.pk.column))}"  # type: ignore[union-attr]
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    head = f"INSERT INTO {qn(opts.db_table)} ({columns}) VALUES "  # noqa: S608
    recordset = None
    types = [f.db_type(connection) for f in fields]
    if connection.vendor == "postgresql" and all(types):
        shape = ", ".join(f"{qn(str(f.column))} {t}" for f, t in zip(fields, types, strict=True))
        recordset = (
            f"INSERT INTO {qn(opts.db_table)} ({columns}) SELECT {columns} "  # noqa: S608
            f"FROM jsonb_to_recordset(%s::jsonb) AS x({shape}){returning}"
        )
    return fields, head, returning, recordset


class _NotPlain(Exception):
    pass


def _json_value(value: Any) -> str:
    """A prepared value as JSON text for ``jsonb_to_recordset``; a JSON column's value as its field encodes it."""
    if isinstance(value, Jsonb):
        return str((value.dumps or json.dumps)(value.obj))  # the field's own encoder, as psycopg would have sent it
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return f'"{value.isoformat()}"'
    if isinstance(value, uuid.UUID):
        return f'"{value}"'
    if value is None or isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return json.dumps(value)
    raise _NotPlain  # anything else (naive datetimes, dates, decimals, bytes): sent as VALUES parameters


def insert_many(model: type[M], objs: list[M]) -> list[M]:
    """``model.objects.bulk_create(objs)`` for new rows of a model with an auto-incremented key, with the new keys
    set on ``objs``: each value prepared as bulk_create prepares it (``pre_save`` with ``add=True``, then
    ``get_db_prep_save``: ``auto_now_add``, JSON). On PostgreSQL the rows go as ONE JSON document
    (``INSERT ... SELECT ... FROM jsonb_to_recordset(%s) ... RETURNING id``): bulk_create sends each column as an
    array (UNNEST) that psycopg quotes element by element in Python, and a ``VALUES`` list of hundreds of
    parameters is parsed again on each call (psycopg caches only short ones); for rows of JSON either costs more
    than the insert. Elsewhere (and for a value JSON cannot carry exactly): ``INSERT ... VALUES (...), (...)
    RETURNING id``, in batches as the backend allows."""
    if not objs:
        return objs
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert or model._meta.auto_field is None:
        return model._default_manager.using(alias).bulk_create(objs)
    fields, head, returning, recordset = _insert_shape(model, alias)
    prepared = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        if recordset is not None:
            names = [json.dumps(str(f.column)) for f in fields]
            try:
                document = (
                    "["
                    + ", ".join(
                        "{" + ", ".join(f"{n}: {_json_value(v)}" for n, v in zip(names, values, strict=True)) + "}"
                        for values in prepared
                    )
                    + "]"
                )
            except _NotPlain:
                document = None
            if document is not None:
                cursor.execute(recordset, [document])
                _keys_set(objs, cursor.fetchall(), alias)
                return objs
        for start, end in _values_batches(cursor, head, returning, fields, prepared):
            _keys_set(objs[start:end], cursor.fetchall(), alias)
    return objs


def insert_unless_there(obj: M) -> bool:
    """Insert ``obj`` (a new row of a model with an auto-incremented key) unless a row with the same values of one
    of its unique constraints is there, or is being inserted by a transaction not yet committed (the statement
    waits for it): ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (PostgreSQL and SQLite alike), values
    prepared as ``save()`` prepares them. True, with the key set on ``obj``, if it went in. No savepoint: the
    ``create()`` in ``transaction.atomic()`` that catches ``IntegrityError`` costs two more round trips."""
    model = type(obj)
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields, head, returning, _ = _insert_shape(model, alias)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    keys: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for _ in _values_batches(cursor, head, " ON CONFLICT DO NOTHING" + returning, fields, [values]):  # one row
            keys = cursor.fetchall()
    if keys:
        _keys_set([obj], keys, alias)
    return bool(keys)


@functools.lru_cache(maxsize=32)
def _update_sql(model: type[Model], db_alias: str, names: tuple[str, ...]) -> tuple[list[Field], str]:
    qn = connections[db_alias].ops.quote_name
    opts = model._meta
    fields = [cast(Field, opts.get_field(name)) for name in names]
    assignments = ", ".join(f"{qn(str(f.column))} = %s" for f in fields)
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    sql = f"UPDATE {qn(opts.db_table)} SET {assignments} WHERE {qn(str(opts.pk.column))} = %s"  # type: ignore[union-attr]  # noqa: S608
    return fields, sql


def update(obj: Model, fields: tuple[str, ...]) -> None:
    """``obj.save(update_fields=fields)``: the named fields' values prepared as ``save()`` prepares them
    (``pre_save``, then ``get_db_prep_save``), in one ``UPDATE ... WHERE pk = %s`` built once, where ``save()``
    compiles it on every call. Like ``save(update_fields=...)`` it raises ``DatabaseError`` when no row has that
    key. A model with its own ``save()`` or with save signals connected is saved by ``save()`` itself."""
    model = type(obj)
    if model.save is not Model.save or pre_save.has_listeners(model) or post_save.has_listeners(model):
        obj.save(update_fields=fields)
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    model_fields, sql = _update_sql(model, alias, fields)
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in model_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, obj.pk])
        if cursor.rowcount != 1:
            raise DatabaseError(f"{model.__name__} {obj.pk}: no row to update")
    obj._state.adding, obj._state.db = False, alias


def _values_batches(
    cursor: Any, head: str, tail: str, fields: list[Field], prepared: list[list[Any]]
) -> Iterator[tuple[int, int]]:
    """Run ``head VALUES (...), (...) tail`` over the prepared rows in batches as the backend allows, yielding each
    batch's (start, end) in ``prepared`` after it ran, so the caller can read what it returned."""
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, cursor.db.ops.bulk_batch_size(fields, prepared))
    for start in range(0, len(prepared), size):
        part = prepared[start : start + size]
        cursor.execute(head + ", ".join([row] * len(part)) + tail, [v for values in part for v in values])
        yield start, start + len(part)


@functools.lru_cache(maxsize=16)
def _upsert_tail(model: type[Model], db_alias: str, unique: tuple[str, ...], update: tuple[str, ...]) -> str:
    qn = connections[db_alias].ops.quote_name
    opts = model._meta
    keys = ", ".join(qn(str(cast(Field, opts.get_field(name)).column)) for name in unique)
    columns = [qn(str(cast(Field, opts.get_field(name)).column)) for name in update]
    return f" ON CONFLICT ({keys}) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)


def upsert_many(model: type[M], objs: list[M], *, unique: tuple[str, ...], update: tuple[str, ...]) -> list[M]:
    """``bulk_create(objs, update_conflicts=True, unique_fields=unique, update_fields=update)`` where ``objs`` are
    new or overwrite the row with the same ``unique`` values (the columns of a unique constraint), their keys left
    unset: ``INSERT ... VALUES ... ON CONFLICT (...) DO UPDATE SET`` (PostgreSQL and SQLite alike), each value
    prepared as bulk_create prepares it, in one statement built once, where bulk_create compiles it on every call."""
    if not objs:
        return objs
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields, head, _, _ = _insert_shape(model, alias)
    tail = _upsert_tail(model, alias, unique, update)
    prepared = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        for _ in _values_batches(cursor, head, tail, fields, prepared):
            pass
    return objs


def upsert_many_where(
    model: type[M], objs: list[M], *, unique: tuple[str, ...], update: tuple[str, ...], where: str, params: list[Any]
) -> int:
    """``upsert_many`` written only if ``where`` holds as the statement runs: an SQL condition on other rows,
    written once by the caller (identifiers from model metadata only, values in ``params``), e.g. an ``EXISTS``
    on a parent row read ``FOR SHARE`` so that no transaction can change that row before the write commits.
    One statement: ``INSERT ... SELECT * FROM (VALUES ...) AS v WHERE <where> ON CONFLICT ... DO UPDATE``.
    Returns the rows written (0 when ``where`` did not hold; nothing is written then)."""
    if not objs:
        return 0
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields, _, _, _ = _insert_shape(model, alias)
    head, row = _where_head(model, alias)
    tail = f") AS v WHERE {where}" + _upsert_tail(model, alias, unique, update)
    prepared = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    size = connection.ops.bulk_batch_size(fields, prepared)
    limit = connection.features.max_query_params  # room for the condition's parameters too (SQLite)
    if limit:
        size = min(size, (limit - len(params)) // len(fields))
    size = max(1, size)
    written = 0
    # Several statements (SQLite's parameter limit): all or none, in one transaction, whose first write keeps other
    # writers out until it ends, so the condition holds for every batch if it held for the first.
    with (
        transaction.atomic(using=alias) if len(prepared) > size else contextlib.nullcontext(),
        connection.cursor() as cursor,
    ):
        for start in range(0, len(prepared), size):
            part = prepared[start : start + size]
            cursor.execute(head + ", ".join([row] * len(part)) + tail, [v for values in part for v in values] + params)
            written += max(cursor.rowcount, 0)
    return written


# A type's length or precision, as in varchar(255), numeric(10, 2), timestamp(3) with time zone.
_LENGTH = re.compile(r"\(\s*\d+\s*(,\s*\d+\s*)?\)")


@functools.lru_cache(maxsize=16)
def _where_head(model: type[Model], db_alias: str) -> tuple[str, str]:
    """The statement's head up to its ``VALUES`` rows, and one row of placeholders. On PostgreSQL each value is
    cast to its column's type (without a length, so a value too long still fails as a plain insert would): in a
    ``SELECT`` a parameter sent untyped, such as a NULL, would otherwise be taken as text."""
    connection = connections[db_alias]
    qn = connection.ops.quote_name
    fields, _, _, _ = _insert_shape(model, db_alias)
    columns = ", ".join(qn(str(f.column)) for f in fields)
    if connection.vendor == "postgresql":
        row = "(" + ", ".join(f"%s::{_LENGTH.sub('', str(f.db_type(connection)))}" for f in fields) + ")"
    else:
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    return f"INSERT INTO {qn(model._meta.db_table)} ({columns}) SELECT * FROM (VALUES ", row  # noqa: S608


def _keys_set(objs: list[M], keys: list[tuple[Any, ...]], alias: str) -> None:
    for obj, (pk,) in zip(objs, keys, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, alias
