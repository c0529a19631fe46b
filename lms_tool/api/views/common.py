"""List and detail bases: reach-limited querysets, keyset pages, 403 for objects out of reach."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, generics

from ..base import ApiView
from ..filters import FieldFilter, UpdatedSinceFilter

OUT_OF_REACH = "This API client may not reach that course or object; an admin can widen its reach."


class ListApi(ApiView, generics.ListAPIView):
    """GET a keyset-paged list; ``updated_since`` and the view's ``query_filters`` narrow it."""

    filter_backends = [UpdatedSinceFilter, FieldFilter]
    query_filters: dict[str, tuple[str, str, str]] = {}
    cursor_field = "updated_at"

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "pii": self.client.has_scope("pii:read")}


class ObjectApi(ApiView):
    """Views about one object: 404 when it does not exist, 403 when it exists outside the client's reach."""

    model: type[Model]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "pii": self.client.has_scope("pii:read")}

    def get_object(self) -> Any:
        obj = get_object_or_404(self.model, pk=self.kwargs["pk"])
        reachable: QuerySet = self.get_queryset()
        if not reachable.filter(pk=obj.pk).exists():
            raise exceptions.PermissionDenied(OUT_OF_REACH)
        return reachable.get(pk=obj.pk)


class DetailApi(ObjectApi, generics.RetrieveAPIView):
    """GET one object."""
