"""The audit log and the domain events, read-only."""

from __future__ import annotations

from typing import Any

from .. import selectors
from ..serializers import AuditEventOut, DomainEventOut
from .common import ListApi


class AuditEventListApi(ListApi):
    """Append-only audit lines; ``updated_since`` compares with the time they were written."""

    required_scopes = {"GET": "audit:read"}
    serializer_class = AuditEventOut
    cursor_field = "created_at"
    query_filters = {
        "action": ("action", "str", "e.g. enrollment.dropped"),
        "actor_type": ("actor_type", "str", "user, api_client, platform, system or admin"),
        "object_type": ("object_type", "str", "e.g. membership, score"),
        "object_id": ("object_id", "str", "The object's id (with object_type)."),
    }

    def get_queryset(self) -> Any:
        return selectors.audit_for(client=self.client)


class DomainEventListApi(ListApi):
    """What happened (the events webhooks deliver), oldest first, for clients that prefer to poll."""

    required_scopes = {"GET": "events:read"}
    serializer_class = DomainEventOut
    cursor_field = "created_at"
    query_filters = {
        "type": ("type", "str", "e.g. enrollment.removed"),
        "course": ("context_pk", "int", "Only events of this course."),
    }

    def get_queryset(self) -> Any:
        return selectors.events_for(client=self.client)
