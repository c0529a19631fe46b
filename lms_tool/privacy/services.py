"""Export and erasure of one person's data (GDPR art. 15/17, FERPA, DPDP), with the audit trail kept."""

from __future__ import annotations

import json
from typing import Any

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser, Membership

from .pseudonyms import pseudonym

PII_FIELDS = ("name", "email", "sis_id")


def _rows(queryset: models.QuerySet) -> list[dict[str, Any]]:
    out = []
    for item in serializers.serialize("python", queryset):
        fields = {k: v for k, v in item["fields"].items() if not k.endswith("_encrypted")}
        out.append({"id": item["pk"], **fields})
    return out


def _related(user: LtiUser) -> dict[str, list[dict[str, Any]]]:
    """Every row of every model that points at the person (quizzes, scores, reviews... as they exist)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for relation in LtiUser._meta.related_objects:
        model = relation.related_model
        if not isinstance(relation.field, models.ForeignKey | models.OneToOneField):
            continue
        rows = _rows(model._base_manager.filter(**{relation.field.name: user}).order_by("pk"))
        if rows:
            found.setdefault(model._meta.label, []).extend(rows)
    return found


def person_export(*, user: LtiUser, actor_type: str, actor_id: str) -> dict[str, Any]:
    """Everything held about one person, as JSON-ready data; the export itself is audited."""
    memberships = Membership.objects.filter(user=user).values_list("pk", "context_id")
    membership_ids = [str(pk) for pk, _ in memberships]
    audit = AuditEvent.objects.filter(
        models.Q(object_type__in=["lti_user", "user"], object_id=str(user.pk))
        | models.Q(object_type="membership", object_id__in=membership_ids)
    )
    events = DomainEvent.objects.filter(
        models.Q(subject_type="membership", subject_id__in=membership_ids)
        | models.Q(subject_type__in=["lti_user", "user"], subject_id=str(user.pk))
    )
    data = {
        "generated_at": timezone.now(),
        "person": {
            "id": user.pk,
            "registration": user.registration_id,
            "issuer": user.registration.issuer,
            "sub": user.sub,
            "pseudonym": pseudonym(registration_pk=user.registration_id, sub=user.sub),
            **{name: getattr(user, name) for name in PII_FIELDS if hasattr(user, name)},
            "created_at": user.created_at,
            "updated_at": user.updated_at,
        },
        "records": _related(user),
        "audit_log": _rows(audit.order_by("pk")),
        "events": _rows(events.order_by("pk")),
    }
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="person.exported",
        object_type="lti_user",
        object_id=user.pk,
        source="privacy",
    )
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@transaction.atomic
def person_erase(*, user: LtiUser, actor_type: str, actor_id: str, delete: bool = False) -> dict[str, Any]:
    """Erase a person's PII. By default the row stays with its platform ``sub`` (a pseudonymous key the
    platform needs for grades still owed) and PII blanked; ``delete`` removes the person and every row
    that hangs off it. The audit trail is kept either way (it holds ids, not PII)."""
    pk, related = user.pk, {label: len(rows) for label, rows in _related(user).items()}
    if delete:
        user.delete()
    else:
        blank = {name: "" for name in PII_FIELDS if any(f.name == name for f in LtiUser._meta.concrete_fields)}
        LtiUser.objects.filter(pk=pk).update(**blank, updated_at=timezone.now())
    summary = {"mode": "delete" if delete else "anonymise", "related_rows": related}
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="person.erased",
        object_type="lti_user",
        object_id=pk,
        source="privacy",
        after=summary,
    )
    return summary
