"""List and detail bases: reach-limited querysets, keyset pages, 404 alike for missing and out-of-reach objects."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.shortcuts import get_object_or_404
from rest_framework import generics

from ..base import ApiView
from ..filters import FieldFilter, UpdatedSinceFilter


class ListApi(ApiView, generics.ListAPIView):
    """GET a keyset-paged list; ``updated_since`` and the view's ``query_filters`` narrow it."""

    filter_backends = [UpdatedSinceFilter, FieldFilter]
    query_filters: dict[str, tuple[str, str, str]] = {}
    cursor_field = "updated_at"

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "pii": self.client.has_scope("pii:read")}


class ObjectApi(ApiView):
    """Views about one object, looked up only among those in the client's reach.

    An object outside the reach answers exactly as a missing one (the same 404 and body), so a client
    cannot learn which ids exist in courses it may not see (docs/api.md, "Reach")."""

    model: type[Model]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "pii": self.client.has_scope("pii:read")}

    def get_object(self) -> Any:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class DetailApi(ObjectApi, generics.RetrieveAPIView):
    """GET one object."""
