"""Export and erasure of one person's data (GDPR art. 15/17, FERPA, DPDP), with the audit trail kept.

Both can be limited to a set of courses (an API client's reach, docs/api.md "Privacy"): then only the
person's records in those courses are exported or erased, and the person's own row (name, email, SIS id,
and what belongs to the person rather than to a course) only when every course the person has records
in is among them.
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from lms_tool.core.errors import ToolError
from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.core.services import audit_record
from lms_tool.lti.models import Context, LtiUser, Membership

from .pseudonyms import pseudonym

PII_FIELDS = ("name", "email", "sis_id")

# The course (lti.Context) of each kind of record that points at a person, as a lookup from the record.
# Labels, not imports: privacy sits below the apps that own these models. A record pointing at a person
# that is not listed here belongs to the person as a whole (their FSRS parameters, say): it goes with the
# person's own row, so a new model is never exported or erased through a course by accident;
# tests/privacy/test_reach.py fails until each new relation is placed here or in PERSONAL.
COURSE_OF: dict[str, str] = {
    "lti.Membership": "context",
    "roster.ResourceLinkMember": "resource_link__context",
    "quizzes.Quiz": "context",
    "quizzes.Attempt": "quiz__context",
    "quizzes.Answer": "attempt__quiz__context",
    "quizzes.Accommodation": "context",
    "analytics.LearnerRisk": "context",
    "flashcards.Deck": "context",
    "flashcards.CardState": "deck__context",
    "flashcards.ReviewLog": "deck__context",
    "flashcards.DeckGrade": "deck__context",
    "flashcards.DeckGeneration": "deck__context",
    "grading.ScoreSlot": "line_item__resource_link__context",
    "grading.Score": "resource_link__context",
}
PERSONAL = frozenset({"flashcards.LearnerParameters", "flashcards.ParameterFit"})

# None: every course, and the person's own row.
Courses: TypeAlias = "models.QuerySet[Context] | None"


class PartialErasureRefused(ToolError):
    status = 409


def _rows(queryset: models.QuerySet) -> list[dict[str, Any]]:
    out = []
    for item in serializers.serialize("python", queryset):
        fields = {k: v for k, v in item["fields"].items() if not k.endswith("_encrypted")}
        out.append({"id": item["pk"], **fields})
    return out


def relations() -> list[models.ForeignKey]:
    """Every foreign key (or one-to-one) that points at a person, hidden ones (``related_name="+"``) included."""
    found: list[models.ForeignKey] = []
    for rel in LtiUser._meta.get_fields(include_hidden=True):
        if isinstance(rel, models.ForeignObjectRel) and isinstance(rel.field, models.ForeignKey):
            found.append(rel.field)
    return sorted(found, key=lambda field: (field.model._meta.label, field.name))


def _of(field: models.ForeignKey, user: LtiUser, courses: Courses) -> models.QuerySet:
    """The rows of ``field``'s model that point at ``user``, in ``courses`` (all when None)."""
    rows = field.model._base_manager.filter(**{field.name: user})
    if courses is None:
        return rows
    path = COURSE_OF.get(field.model._meta.label)
    if path is None:
        return rows.none()
    return rows.filter(**{f"{path}__in": courses.values("pk")})


def _whole(user: LtiUser, courses: Courses) -> bool:
    """True when ``courses`` holds every course the person has a record in (so their own row may go)."""
    if courses is None:
        return True
    for field in relations():
        path = COURSE_OF.get(field.model._meta.label)
        if path is None:
            continue
        outside = field.model._base_manager.filter(**{field.name: user}).exclude(
            **{f"{path}__in": courses.values("pk")}
        )
        if outside.exists():
            return False
    return True


def _related(user: LtiUser, courses: Courses = None, *, whole: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every row of every model that points at the person (quizzes, scores, reviews... as they exist):
    in ``courses`` for course records, and the person's own records only when ``whole``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for field in relations():
        if field.model._meta.label in COURSE_OF or courses is None:
            rows = _of(field, user, courses)
        elif whole:
            rows = field.model._base_manager.filter(**{field.name: user})
        else:
            continue
        serialized = _rows(rows.order_by("pk"))
        if serialized:
            found.setdefault(field.model._meta.label, []).extend(serialized)
    return found


def person_export(*, user: LtiUser, actor_type: str, actor_id: str, courses: Courses = None) -> dict[str, Any]:
    """Everything held about one person, as JSON-ready data; the export itself is audited.

    With ``courses``, only the records in those courses (and the audit lines and events about them);
    what belongs to the person as a whole only when those are all the person's courses."""
    whole = _whole(user, courses)
    memberships = _of(Membership.user.field, user, courses).values_list("pk", flat=True)
    membership_ids = [str(pk) for pk in memberships]
    about_person = models.Q(object_type__in=["lti_user", "user"], object_id=str(user.pk))
    audit_q = models.Q(object_type="membership", object_id__in=membership_ids)
    events_q = models.Q(subject_type="membership", subject_id__in=membership_ids)
    if whole:
        audit_q |= about_person
        events_q |= models.Q(subject_type__in=["lti_user", "user"], subject_id=str(user.pk))
    data = {
        "generated_at": timezone.now(),
        "limited_to_reach": courses is not None,
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
        "records": _related(user, courses, whole=whole),
        "audit_log": _rows(AuditEvent.objects.filter(audit_q).order_by("pk")),
        "events": _rows(DomainEvent.objects.filter(events_q).order_by("pk")),
    }
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="person.exported",
        object_type="lti_user",
        object_id=user.pk,
        source="privacy",
        after={"limited_to_reach": courses is not None},
    )
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _erase_in(user: LtiUser, courses: models.QuerySet[Context]) -> None:
    """Remove the person's records in ``courses`` as deleting the person would (cascade or unlink)."""
    for field in relations():
        if field.model._meta.label not in COURSE_OF:
            continue
        rows = _of(field, user, courses)
        if field.remote_field.on_delete is models.SET_NULL:
            rows.update(**{field.name: None})
        else:
            # Deleting through the queryset cascades as deleting the person would (answers with attempts).
            rows.delete()


@transaction.atomic
def person_erase(
    *, user: LtiUser, actor_type: str, actor_id: str, delete: bool = False, courses: Courses = None
) -> dict[str, Any]:
    """Erase a person's PII. By default the row stays with its platform ``sub`` (a pseudonymous key the
    platform needs for grades still owed) and PII blanked; ``delete`` removes the person and every row
    that hangs off it. The audit trail is kept either way (it holds ids, not PII).

    With ``courses`` (an API client's reach), only the records in those courses go, and the person's own
    row only when they are all the person's courses. Anonymising then has nothing to blank (course records
    hold ids, not PII), so it is refused (409) rather than answered as done."""
    pk, whole = user.pk, _whole(user, courses)
    if not whole and not delete:
        raise PartialErasureRefused(
            "This person also has records in courses outside this API client's reach, so their name, email and "
            "SIS id (shared by all their courses) were not blanked. Send mode 'delete' to remove their records "
            "in the courses this client reaches, or ask an admin to run manage.py privacy_erase.",
            detail=f"user={pk}",
        )
    related = {label: len(rows) for label, rows in _related(user, courses, whole=whole).items()}
    if delete and whole:
        user.delete()
    elif delete:
        assert courses is not None  # not whole: a limited erasure
        _erase_in(user, courses)
    else:
        blank = {name: "" for name in PII_FIELDS if any(f.name == name for f in LtiUser._meta.concrete_fields)}
        LtiUser.objects.filter(pk=pk).update(**blank, updated_at=timezone.now())
    summary = {
        "mode": "delete" if delete else "anonymise",
        "person": ("deleted" if delete else "anonymised") if whole else "kept",
        "related_rows": related,
    }
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="person.erased",
        object_type="lti_user",
        object_id=pk,
        source="privacy",
        after={**summary, "limited_to_reach": courses is not None},
    )
    return summary
