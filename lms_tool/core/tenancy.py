"""Retention and offboarding: what a school's data becomes with time, and when the school leaves.

Writes spanning every app, behind `manage.py retention_purge` and `manage.py tenant_offboard`
(docs/production.md, "Retention" and "Tenant offboarding"). Models are looked up by name: core imports
no app. Each run leaves audit lines with counts and ids only.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AuditEvent
from .services import audit_record


def _model(name: str) -> Any:
    return apps.get_model(name)


def _context_pks(registration_id: int) -> list[int]:
    return list(_model("lti.Context").objects.filter(registration_id=registration_id).values_list("pk", flat=True))


def _expired(registration_id: int | None, cutoff: datetime) -> dict[str, QuerySet[Any]]:
    """What is past its retention period: for one registration, or (None) deliveries of events without a course."""
    deliveries = _model("webhooks.Delivery").objects.filter(state__in=["delivered", "dead"], created_at__lt=cutoff)
    if registration_id is None:
        return {"webhook_deliveries": deliveries.filter(event__context_pk__isnull=True)}
    return {
        "answers": _model("quizzes.Answer").objects.filter(
            attempt__quiz__context__registration_id=registration_id, attempt__submitted_at__lt=cutoff
        ),
        "review_logs": _model("flashcards.ReviewLog").objects.filter(
            deck__context__registration_id=registration_id, reviewed_at__lt=cutoff
        ),
        "webhook_deliveries": deliveries.filter(event__context_pk__in=_context_pks(registration_id)),
    }


def retention_purge(*, dry_run: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
    """Delete (or with ``dry_run`` only count) answers of submitted attempts, flashcard review logs and finished
    webhook deliveries older than each registration's retention period; one audit line per registration
    that had any. Attempts and scores stay: the gradebook and the tool's own results keep them."""
    now = now or timezone.now()
    default = settings.RETENTION_DAYS
    scopes: list[tuple[int | None, int]] = [
        (pk, days or default)
        for pk, days in _model("lti.Registration").objects.order_by("pk").values_list("pk", "retention_days")
    ]
    scopes.append((None, default))
    report = []
    for registration_id, days in scopes:
        cutoff = now - timedelta(days=days)
        with transaction.atomic():
            found = _expired(registration_id, cutoff)
            counts = {name: qs.count() for name, qs in found.items()}
            if not dry_run and any(counts.values()):
                for qs in found.values():
                    # Rows go by primary key: a queryset spanning relations cannot be deleted in one statement
                    # on every backend, and the review log's queryset refuses bulk updates, not deletes.
                    qs.model.objects.filter(pk__in=list(qs.values_list("pk", flat=True))).delete()
                audit_record(
                    actor_type=AuditEvent.Actor.SYSTEM,
                    actor_id="retention_purge",
                    action="retention.purged",
                    object_type="registration",
                    object_id=registration_id if registration_id is not None else "",
                    after={**counts, "retention_days": days, "before": cutoff.isoformat()},
                )
        report.append({"registration": registration_id, "retention_days": days, "before": cutoff, **counts})
    return report


# Everything of one registration: (file name, model, filter from the registration's pk). Parents before children,
# so the files read in order rebuild the registration.
def _scoped(registration_id: int) -> list[tuple[str, QuerySet[Any]]]:
    r = registration_id
    contexts = _context_pks(r)
    tables: list[tuple[str, dict[str, Any]]] = [
        ("lti.Registration", {"pk": r}),
        ("lti.Deployment", {"registration_id": r}),
        ("lti.Context", {"registration_id": r}),
        ("lti.ResourceLink", {"context__registration_id": r}),
        ("lti.LtiUser", {"registration_id": r}),
        ("lti.Membership", {"context__registration_id": r}),
        ("lti.RegistrationAiUsage", {"registration_id": r}),
        ("grading.AgsEndpoint", {"context__registration_id": r}),
        ("grading.LineItem", {"resource_link__context__registration_id": r}),
        ("grading.ScoreSlot", {"line_item__resource_link__context__registration_id": r}),
        ("grading.Score", {"resource_link__context__registration_id": r}),
        ("roster.RosterSync", {"context__registration_id": r}),
        ("roster.ResourceLinkMember", {"resource_link__context__registration_id": r}),
        ("quizzes.Quiz", {"context__registration_id": r}),
        ("quizzes.GenerationRun", {"quiz__context__registration_id": r}),
        ("quizzes.Question", {"quiz__context__registration_id": r}),
        ("quizzes.Attempt", {"quiz__context__registration_id": r}),
        ("quizzes.Answer", {"attempt__quiz__context__registration_id": r}),
        ("quizzes.AttemptQuestion", {"attempt__quiz__context__registration_id": r}),
        ("quizzes.Accommodation", {"context__registration_id": r}),
        ("flashcards.Deck", {"context__registration_id": r}),
        ("flashcards.Card", {"deck__context__registration_id": r}),
        ("flashcards.CardState", {"deck__context__registration_id": r}),
        ("flashcards.ReviewLog", {"deck__context__registration_id": r}),
        ("flashcards.LearnerParameters", {"learner__registration_id": r}),
        ("flashcards.DeckParameters", {"deck__context__registration_id": r}),
        # A fit is of a learner or of a deck: either way, of this registration.
        (
            "flashcards.ParameterFit",
            {
                "pk__in": _model("flashcards.ParameterFit")
                .objects.filter(Q(learner__registration_id=r) | Q(deck__context__registration_id=r))
                .values("pk")
            },
        ),
        ("flashcards.DeckGrade", {"deck__context__registration_id": r}),
        ("flashcards.DeckGeneration", {"deck__context__registration_id": r}),
        ("analytics.RiskSettings", {"context__registration_id": r}),
        ("analytics.LearnerRisk", {"context__registration_id": r}),
        ("xapi.LrsEndpoint", {"registration_id": r}),
        ("xapi.Statement", {"endpoint__registration_id": r}),
        ("core.DomainEvent", {"context_pk__in": contexts}),
        ("webhooks.Delivery", {"event__context_pk__in": contexts}),
    ]
    return [(label, _model(label).objects.filter(**where).order_by("pk")) for label, where in tables]


def tenant_export(*, registration_id: int, directory: Path) -> dict[str, int]:
    """Write every row of the registration as JSON, one file per table (``lti.LtiUser.json``...), into
    ``directory`` (created; refused if it exists and is not empty, so an export never mixes two)."""
    if not _model("lti.Registration").objects.filter(pk=registration_id).exists():
        raise ValueError(f"There is no registration {registration_id} (manage.py lti_platform list shows them).")
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"{directory} is not empty: export into a new directory.")
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    with transaction.atomic():  # one consistent snapshot (REPEATABLE READ is not needed for a quiet tenant)
        for label, qs in _scoped(registration_id):
            rows = list(qs)
            (directory / f"{label}.json").write_text(serializers.serialize("json", rows, indent=1))
            counts[label] = len(rows)
        manifest = {"registration": registration_id, "exported_at": timezone.now().isoformat(), "rows": counts}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
        audit_record(
            actor_type=AuditEvent.Actor.ADMIN,
            actor_id="tenant_offboard",
            action="tenant.exported",
            object_type="registration",
            object_id=registration_id,
            after={"rows": counts},
        )
    return counts


@transaction.atomic
def tenant_delete(*, registration_id: int) -> dict[str, int]:
    """Delete the registration and everything under it (what ``tenant_export`` wrote), audited with the counts."""
    counts = {label: qs.count() for label, qs in _scoped(registration_id)}
    if not counts["lti.Registration"]:
        raise ValueError(f"There is no registration {registration_id}.")
    contexts = _context_pks(registration_id)
    # Answers and the record of which questions an attempt drew protect those questions: they go first. Events and deliveries name their course by
    # pk, not by a foreign key, so the cascade from the registration does not reach them.
    _model("quizzes.Answer").objects.filter(attempt__quiz__context__registration_id=registration_id).delete()
    _model("quizzes.AttemptQuestion").objects.filter(attempt__quiz__context__registration_id=registration_id).delete()
    _model("webhooks.Delivery").objects.filter(event__context_pk__in=contexts).delete()
    _model("core.DomainEvent").objects.filter(context_pk__in=contexts).delete()
    _model("lti.Registration").objects.filter(pk=registration_id).delete()
    audit_record(
        actor_type=AuditEvent.Actor.ADMIN,
        actor_id="tenant_offboard",
        action="tenant.deleted",
        object_type="registration",
        object_id=registration_id,
        before={"rows": counts},
    )
    return counts
