"""Keyset cursor pagination over (ordering field, id), so page N costs what page 1 costs.

DRF's CursorPagination keys on one field and breaks ties with an OFFSET, which grows without bound
when many rows share an ``updated_at`` (bulk roster syncs). Here the cursor carries the last row's
(timestamp, id) and the next page is ``WHERE (t, id) > (cursor_t, cursor_id)``, served by an index.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param


def _encode(value: str, pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        moment = parse_datetime(value)
        # The cursors this class writes hold UTC times and database ids; anything else was not written here
        # (and an offset such as +22:33, or an id past 64 bits, would make PostgreSQL fail with a 500).
        if moment is None or moment.utcoffset() != timedelta(0) or not isinstance(pk, int) or not 0 <= pk < 2**63:
            raise ValueError(cursor)
        return moment, pk
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise exceptions.ValidationError(
            {"cursor": ["Invalid cursor: use the 'next' link of the previous page."]}
        ) from exc


def page_size(request: Request) -> int:
    raw = request.query_params.get("page_size")
    default: int = api_settings.PAGE_SIZE
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= settings.API["MAX_PAGE_SIZE"]:
        raise exceptions.ValidationError(
            {"page_size": [f"Must be a whole number from 1 to {settings.API['MAX_PAGE_SIZE']}."]}
        )
    return int(raw)


class KeysetCursorPagination(BasePagination):
    """Pages ordered by ``view.cursor_field`` (default ``updated_at``) then ``id``, oldest first."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        field = getattr(view, "cursor_field", "updated_at")
        size = page_size(request)
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor:
            moment, pk = _decode(cursor)
            # ``t >= m`` lets the (t, id) index bound the scan; the OR only sorts out the ties.
            queryset = queryset.filter(Q(**{f"{field}__gte": moment}) & (Q(**{f"{field}__gt": moment}) | Q(pk__gt=pk)))
        rows = list(queryset.order_by(field, "pk")[: size + 1])
        self._has_next = len(rows) > size
        rows = rows[:size]
        self._next = None
        if self._has_next:
            last = rows[-1]
            # Rows are model instances, or dicts where a list reads ``.values()`` for speed.
            moment, pk = (last[field], last["id"]) if isinstance(last, dict) else (getattr(last, field), last.pk)
            token = _encode(moment.isoformat(), pk)
            self._next = replace_query_param(request.build_absolute_uri(), self.cursor_query_param, token)
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self._next, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "The next page, or null."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from the previous page's 'next' link.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": "Rows per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.API["MAX_PAGE_SIZE"]},
            },
        ]
