"""Output shapes shared by several endpoints (input serializers live next to their view)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lms_tool.privacy.pseudonyms import pseudonym


@extend_schema_field({"type": "string", "nullable": True})
class PiiField(serializers.CharField):
    """Shown only to clients holding ``pii:read``; others get null."""

    def to_representation(self, value: Any) -> str | None:
        return str(value) if self.context.get("pii") else None


class UserOut(serializers.Serializer):
    id = serializers.IntegerField()
    registration = serializers.IntegerField(source="registration_id")
    sub = serializers.CharField(help_text="The platform's user id (LTI 'sub').")
    pseudonym = serializers.SerializerMethodField(help_text="Stable pseudonymous id for analytics.")
    name = PiiField(help_text="Needs the pii:read scope.")
    email = PiiField(help_text="Needs the pii:read scope.")
    sis_id = PiiField(help_text="The person's SIS id, when known. Needs the pii:read scope.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_pseudonym(self, user: Any) -> str:
        return pseudonym(registration_pk=user.registration_id, sub=user.sub)


class CourseOut(serializers.Serializer):
    id = serializers.IntegerField()
    registration = serializers.IntegerField(source="registration_id")
    context_id = serializers.CharField(help_text="The platform's course id (LTI context id).")
    title = serializers.CharField()
    label = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def iso(value: datetime | None) -> str | None:
    """A timestamp as DRF renders it (ISO 8601, UTC as 'Z')."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class EnrollmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.IntegerField(source="context_id")
    user = serializers.IntegerField(source="user_id")
    user_sub = serializers.CharField(source="user.sub")
    roles = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    last_launch_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, m: Any) -> dict[str, Any]:
        # The same fields as declared above, written out: enrollments are read by the hundred thousand, and
        # DRF's field-by-field path costs ten times as much per row. Lists pass ``ENROLLMENT_VALUES`` dicts.
        if not isinstance(m, dict):
            m = {
                "id": m.pk,
                "context_id": m.context_id,
                "user_id": m.user_id,
                "user__sub": m.user.sub,
                "roles": m.roles,
                "is_active": m.is_active,
                "last_launch_at": m.last_launch_at,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            }
        return {
            "id": m["id"],
            "course": m["context_id"],
            "user": m["user_id"],
            "user_sub": m["user__sub"],
            "roles": list(m["roles"]),
            "is_active": m["is_active"],
            "last_launch_at": iso(m["last_launch_at"]),
            "created_at": iso(m["created_at"]),
            "updated_at": iso(m["updated_at"]),
        }


ENROLLMENT_VALUES = (
    "id",
    "context_id",
    "user_id",
    "user__sub",
    "roles",
    "is_active",
    "last_launch_at",
    "created_at",
    "updated_at",
)


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor_type = serializers.CharField()
    actor_id = serializers.CharField()
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    source = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class DomainEventOut(serializers.Serializer):
    id = serializers.UUIDField(source="event_id", help_text="Stable event id; webhooks send it as 'webhook-id'.")
    type = serializers.CharField()
    subject_type = serializers.CharField()
    subject_id = serializers.CharField()
    course = serializers.IntegerField(source="context_pk", allow_null=True)
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()
