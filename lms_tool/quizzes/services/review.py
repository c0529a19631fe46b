"""The review queue: instructors confirm or change flagged AI grades, with feedback."""

from __future__ import annotations

import math

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser

from ..errors import QuizError
from ..models import Answer, Attempt
from .scoring import attempt_review_complete


@transaction.atomic
def answer_review_decide(*, answer: Answer, reviewer: LtiUser, score: float, feedback: str = "") -> Answer:
    """Record the instructor's score for one answer; when the attempt has none left, post its grade."""
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("quiz", "user", "resource_link")
        .get(pk=answer.attempt_id)
    )
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    if not math.isfinite(score) or not 0 <= score <= answer.max_score:
        raise QuizError(gettext("The score must be between 0 and %(most)s.") % {"most": f"{answer.max_score:g}"})
    if answer.reviewed_at is not None:
        raise QuizError(gettext("This answer has already been reviewed."), status=409)
    before = {"score": answer.score, "confidence": answer.confidence}
    answer.score, answer.feedback = score, feedback.strip()[:5000]
    answer.reviewer, answer.reviewed_at = reviewer, timezone.now()
    answer.save(update_fields=["score", "feedback", "reviewer", "reviewed_at"])
    audit_record(
        actor_type="user",
        actor_id=str(reviewer.pk),
        action="quiz.answer.review",
        object_type="quiz_answer",
        object_id=answer.pk,
        source="instructor",
        before=before,
        after={"score": score, "feedback_chars": len(answer.feedback)},  # its text may name the student
    )
    if not attempt.answers.awaiting_review().exists():
        attempt_review_complete(attempt=attempt, reviewer=reviewer, comment=answer.feedback)
    return answer
