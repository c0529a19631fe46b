"""Reads of the LTI app. The lookups on every login and launch use a lean query (``_rows``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import connections, router
from django.db.models import Field, Model
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from .models import Deployment, Registration

M = TypeVar("M", bound=Model)
_Plan = tuple[str, list[str], list[tuple[Any, tuple[Callable[..., Any], ...]]], list[Field]]


@functools.lru_cache(maxsize=32)
def _plan(model: type[Model], columns: tuple[str, ...], limit: int, alias: str) -> _Plan:
    connection = connections[alias]
    qn = connection.ops.quote_name
    opts = model._meta
    fields = list(opts.concrete_fields)
    where = [cast(Field, opts.get_field(name)) for name in columns]
    select = ", ".join(qn(str(f.column)) for f in fields)
    conditions = " AND ".join(f"{qn(str(f.column))} = %s" for f in where)
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    sql = (
        f"SELECT {select} FROM {qn(opts.db_table)} WHERE {conditions} "  # noqa: S608
        f"ORDER BY {qn(str(opts.pk.column))} LIMIT {int(limit)}"  # type: ignore[union-attr]
    )
    converters = []
    for f in fields:
        col = f.get_col(opts.db_table)
        converters.append((col, tuple(connection.ops.get_db_converters(col) + f.get_db_converters(connection))))
    return sql, [f.attname for f in fields], converters, where


def _rows(model: type[M], where: dict[str, Any], *, limit: int) -> list[M]:
    """``model.objects.filter(**where).order_by("pk")[:limit]`` without the ORM's query compilation.

    Compiling a one-table filter costs ~250 us of CPU per query on a 2-vCPU machine, most of a
    launch's validation (bench/launch.py). The SQL of these lookups never changes, so it is built
    once from the model's metadata; values go through the fields' own preparation, and rows become
    instances as the ORM makes them (``from_db`` after the same database converters).
    """
    alias = router.db_for_read(model)
    connection = connections[alias]
    sql, names, converters, fields = _plan(model, tuple(where), limit, alias)
    params = [f.get_db_prep_value(value, connection) for f, value in zip(fields, where.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for row in rows:
        values = list(row)
        for i, (col, funcs) in enumerate(converters):
            for func in funcs:
                values[i] = func(values[i], col, connection)
        result.append(model.from_db(alias, names, values))
    return result


def registrations_for(*, issuer: str, client_id: str | None) -> list[Registration]:
    if client_id:
        return _rows(Registration, {"issuer": issuer, "client_id": client_id, "is_active": True}, limit=2)
    return _rows(Registration, {"issuer": issuer, "is_active": True}, limit=2)


def registration_get(*, issuer: str, client_id: str) -> Registration | None:
    found = _rows(Registration, {"issuer": issuer, "client_id": client_id, "is_active": True}, limit=1)
    return found[0] if found else None


def deployment_get(*, registration: Registration, deployment_id: str) -> Deployment | None:
    found = _rows(Deployment, {"registration": registration.pk, "deployment_id": deployment_id}, limit=1)
    return found[0] if found else None


def base_url(request: HttpRequest | None = None) -> str:
    from django.conf import settings

    if settings.TOOL_BASE_URL or request is None:
        return settings.TOOL_BASE_URL or "http://127.0.0.1:8000"
    return f"{request.scheme}://{request.get_host()}"


@functools.lru_cache(maxsize=16)
def _tool_paths(urlconf: str, script_prefix: str) -> tuple[str, str, str]:
    # Every login asks for these; reversing costs ~30 us each and the answer only depends on the key.
    return reverse("lti:login", urlconf), reverse("lti:launch", urlconf), reverse("lti:jwks", urlconf)


def tool_urls(request: HttpRequest | None = None) -> dict[str, str]:
    """The URLs an admin gives a platform when registering the tool."""
    from django.conf import settings

    base = base_url(request)
    login, launch, jwks = _tool_paths(str(get_urlconf() or settings.ROOT_URLCONF), get_script_prefix())
    return {"login": base + login, "launch": base + launch, "jwks": base + jwks}
