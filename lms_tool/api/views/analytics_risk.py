"""Learners at risk, for institutional dashboards: pseudonymous ids and reason codes, never names."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from lms_tool.analytics.risk_models import LearnerRisk
from lms_tool.privacy.pseudonyms import pseudonym

from .common import ListApi

REASON_CODES = (
    "not_started: a published activity not started by its due date or within the course's window; "
    "inactive: no activity for the course's number of days; falling_scores; low_scores; "
    "low_recall: predicted flashcard recall of the course's concepts below the course's floor; "
    "held_for_review: answers still waiting for an instructor; several_signals."
)


class LearnerRiskOut(serializers.Serializer):
    learner = serializers.SerializerMethodField(help_text="Pseudonymous id: the same person, the same id.")
    course = serializers.IntegerField(source="context_id")
    at_risk = serializers.BooleanField()
    score = serializers.FloatField(help_text="The risk score, 0 to 1, when last checked.")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Reason codes when the state last changed. " + REASON_CODES
    )
    changed_at = serializers.DateTimeField(help_text="When the learner's state last changed (the keyset order).")
    checked_at = serializers.DateTimeField(help_text="When the learner was last assessed.")

    def get_learner(self, row: Any) -> str:
        return pseudonym(registration_pk=row.context.registration_id, sub=row.user.sub)


class AtRiskListApi(ListApi):
    """Learners at risk in the courses the client reaches, as last recorded (hourly, or when an instructor asks).

    Without ``at_risk`` only learners at risk are listed; ``at_risk=false`` lists those assessed and not at
    risk (recovered ones among them). Changes are also published as ``learner.at_risk`` / ``learner.recovered``
    events."""

    required_scopes = {"GET": "analytics:read"}
    serializer_class = LearnerRiskOut
    cursor_field = "changed_at"
    query_filters = {
        "course": ("context_id", "int", "Only this course."),
        "at_risk": ("at_risk", "bool", "true (the default): learners at risk; false: the others."),
    }

    def get_queryset(self) -> Any:
        rows = LearnerRisk.objects.filter(self.client.context_q("context")).select_related("context", "user")
        if "at_risk" not in self.request.query_params:
            rows = rows.filter(at_risk=True)
        return rows.only(
            "id",
            "context_id",
            "user_id",
            "at_risk",
            "score",
            "reasons",
            "changed_at",
            "checked_at",
            "context__registration_id",
            "user__sub",
        )
