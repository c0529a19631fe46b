from __future__ import annotations

from typing import Any

from .models import AuditEvent


def audit_record(
    *,
    actor_type: str,
    actor_id: str = "",
    action: str,
    object_type: str,
    object_id: Any,
    source: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one line to the audit log."""
    return AuditEvent.objects.create(
        actor_type=actor_type,
        actor_id=str(actor_id),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        source=source,
        before=before,
        after=after,
    )
