"""Query-string filters of list endpoints, validated (400 per field) and described in the schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no"}


# Offsets of real time zones (UTC-12:00 to UTC+14:00). Python accepts up to +-23:59 and PostgreSQL
# refuses some of those ("time zone displacement out of range", a 500 before): refuse them here.
OFFSETS = (timedelta(hours=-12), timedelta(hours=14))


def parse_timestamp(raw: str, name: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime, or a 400 naming the parameter and the reason."""
    # A '+' in a query string arrives as a space unless the client encoded it.
    text = raw.strip().replace(" ", "+")
    try:
        moment = parse_datetime(text) if len(text) <= 64 else None
    except ValueError:  # well-formed but impossible: month 13, offset +25:00
        moment = None
    if moment is None:
        raise exceptions.ValidationError({name: ["Use an ISO 8601 timestamp, e.g. 2025-09-01T00:00:00Z."]})
    if not timezone.is_aware(moment):
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    if offset is None or not OFFSETS[0] <= offset <= OFFSETS[1]:
        raise exceptions.ValidationError({name: ["The UTC offset must be between -12:00 and +14:00; or use Z."]})
    try:
        # UTC for the database: the offset has done its work, and no backend sees an unusual one.
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise exceptions.ValidationError({name: ["The timestamp must fall within the years 1 to 9999 (UTC)."]}) from exc


def _parse(raw: str, kind: str, name: str) -> Any:
    if kind == "int":
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise exceptions.ValidationError({name: ["Must be a whole number (an id)."]})
        return int(raw)
    if kind == "bool":
        if raw.lower() not in TRUE | FALSE:
            raise exceptions.ValidationError({name: ["Must be true or false."]})
        return raw.lower() in TRUE
    if kind == "datetime":
        return parse_timestamp(raw, name)
    if len(raw) > 255:
        raise exceptions.ValidationError({name: ["At most 255 characters."]})
    return raw


class UpdatedSinceFilter(BaseFilterBackend):
    """``updated_since``: rows changed at or after this moment (the keyset order field)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        raw = request.query_params.get("updated_since")
        if raw is None:
            return queryset
        moment = parse_timestamp(raw, "updated_since")
        return queryset.filter(**{f"{getattr(view, 'cursor_field', 'updated_at')}__gte": moment})

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "updated_since",
                "in": "query",
                "required": False,
                "description": "Only rows created or changed at or after this ISO 8601 timestamp.",
                "schema": {"type": "string", "format": "date-time"},
            }
        ]


class FieldFilter(BaseFilterBackend):
    """Equality filters the view declares: ``query_filters = {"course": ("context_id", "int", "help")}``."""

    TYPES = {
        "int": {"type": "integer"},
        "bool": {"type": "boolean"},
        "str": {"type": "string"},
        "datetime": {"type": "string", "format": "date-time"},
    }

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        for name, (lookup, kind, _help) in getattr(view, "query_filters", {}).items():
            raw = request.query_params.get(name)
            if raw is not None:
                queryset = queryset.filter(**{lookup: _parse(raw, kind, name)})
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": name, "in": "query", "required": False, "description": help_, "schema": self.TYPES[kind]}
            for name, (_lookup, kind, help_) in getattr(view, "query_filters", {}).items()
        ]
