"""Writes for "Learners who need help": the course's thresholds, and the recorded risk state with its events.

A learner's state is recorded by the refresh (the beat's ``analytics.risk_refresh`` every
ANALYTICS_RISK_REFRESH_SECONDS, or an instructor's "Check now"); a change publishes ``learner.at_risk`` or
``learner.recovered`` (core/events.py, delivered by webhooks) with a pseudonymous learner id, never a name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from lms_tool.core.errors import ToolError
from lms_tool.core.events import event_record_many
from lms_tool.core.queue import task_send
from lms_tool.core.services import audit_record
from lms_tool.flashcards.models import Deck
from lms_tool.lti.models import Context, LtiUser
from lms_tool.privacy.pseudonyms import pseudonym
from lms_tool.quizzes.models import Quiz

from .risk_forms import RiskSettingsForm
from .risk_models import LearnerRisk, RiskSettings
from .risk_selectors import course_risk, settings_of

logger = logging.getLogger(__name__)


def risk_settings_update(*, context: Context, data: Mapping[str, Any], actor_id: str) -> RiskSettings:
    """Validate and store the course's thresholds; bad input changes nothing and says what to fix."""
    form = RiskSettingsForm(data)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        )
        logger.info("risk settings of course %s refused: %s", context.pk, form.errors.as_json())
        raise ToolError(f"Nothing was changed. Please correct: {problems}", status=400)
    with transaction.atomic():
        settings = settings_of(context=context)
        before = RiskSettingsForm.initial_of(settings) if settings.pk else None
        for name, value in form.values().items():
            setattr(settings, name, value)
        settings.full_clean()
        settings.save()
        audit_record(
            actor_type="user",
            actor_id=actor_id,
            action="analytics.risk_settings_changed",
            object_type="course",
            object_id=context.pk,
            before=before,
            after=RiskSettingsForm.initial_of(settings),
        )
    return settings


@dataclass
class Refreshed:
    learners: int
    at_risk: int
    went_at_risk: int
    recovered: int


def course_risk_refresh(*, context: Context, now: datetime | None = None) -> Refreshed:
    """Assess every learner of the course, record what changed, and publish an event for each change."""
    now = now or timezone.now()
    _, assessed = course_risk(context=context, now=now)
    subs = dict(LtiUser.objects.filter(pk__in=list(assessed)).values_list("pk", "sub"))
    went, recovered = 0, 0
    with transaction.atomic():
        recorded = {r.user_id: r for r in LearnerRisk.objects.select_for_update().filter(context=context)}
        new_rows, changed, events = [], [], []
        for user_pk, assessment in assessed.items():
            row = recorded.get(user_pk)
            was = row.at_risk if row is not None else False
            if row is None:
                row = LearnerRisk(context=context, user_id=user_pk, changed_at=now, checked_at=now)
                new_rows.append(row)
            else:
                changed.append(row)
            row.score, row.checked_at = assessment.score, now
            if assessment.at_risk != was or row.pk is None:
                row.at_risk, row.reasons = assessment.at_risk, assessment.codes
            if assessment.at_risk != was:
                row.changed_at = now
                went += assessment.at_risk
                recovered += not assessment.at_risk
                events.append(
                    {
                        "type": "learner.at_risk" if assessment.at_risk else "learner.recovered",
                        "subject_type": "learner",
                        "subject_id": pseudonym(registration_pk=context.registration_id, sub=subs[user_pk]),
                        "data": {
                            "course": context.pk,
                            "learner": pseudonym(registration_pk=context.registration_id, sub=subs[user_pk]),
                            "score": round(assessment.score, 3),
                            "reasons": assessment.codes,
                        },
                        "context_pk": context.pk,
                    }
                )
        # Someone no longer an active learner of the course (dropped, or now staff) is no longer assessed: their
        # recorded state goes, without an event (enrollment.removed already says why).
        LearnerRisk.objects.filter(context=context).exclude(user_id__in=list(assessed)).delete()
        LearnerRisk.objects.bulk_create(new_rows)
        LearnerRisk.objects.bulk_update(changed, ["at_risk", "score", "reasons", "changed_at", "checked_at"])
        if events:
            event_record_many(events=events)
    at_risk = sum(1 for a in assessed.values() if a.at_risk)
    return Refreshed(len(assessed), at_risk, went, recovered)


def courses_to_refresh() -> list[Context]:
    """Courses of active registrations with a published quiz or deck (nothing to assess elsewhere)."""
    with_quiz = Quiz.objects.filter(status=Quiz.Status.PUBLISHED).values("context_id")
    with_deck = Deck.objects.filter(status=Deck.Status.PUBLISHED).values("context_id")
    return list(Context.objects.filter(registration__is_active=True).filter(Q(pk__in=with_quiz) | Q(pk__in=with_deck)))


def risk_refresh_all(*, now: datetime | None = None) -> int:
    """The beat's job: refresh every course with something published; a failing course does not stop the rest."""
    done = 0
    for context in courses_to_refresh():
        try:
            course_risk_refresh(context=context, now=now)
            done += 1
        except Exception:  # a course's fault is logged; the other courses are still checked
            logger.exception("risk refresh of course %s failed", context.pk)
    return done


def risk_refresh_request(*, context: Context, actor_id: str) -> bool:
    """An instructor's "Check now": queue the course's refresh (audited); False when the queue is unreachable."""
    try:
        task_send("analytics.risk_refresh_course", context.pk)
        queued = True
    except OperationalError:
        logger.warning("risk refresh of course %s not queued: broker unreachable", context.pk)
        queued = False
    audit_record(
        actor_type="user",
        actor_id=actor_id,
        action="analytics.risk_refresh_requested",
        object_type="course",
        object_id=context.pk,
        after={"queued": queued},
    )
    return queued
