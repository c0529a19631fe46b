"""An attempt's grade, written in the submitting transaction together with its gradebook score."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum
from django.utils import timezone

from lms_tool.ai import ProviderError
from lms_tool.ai.policy import provider_for
from lms_tool.core import lean
from lms_tool.grading.services import score_review_decide, score_submit
from lms_tool.lti.ai_control import ai_control_of
from lms_tool.lti.models import LtiUser

from ..models import Answer, Attempt, Question
from .grading import FreeTextGrade, grade_free_text, grade_objective
from .windows import late_apply, late_comment, late_score


def attempt_grade(
    *,
    attempt: Attempt,
    ai_grades: dict[tuple[int, str], FreeTextGrade],
    questions: dict[int, Question] | None = None,
    graded: list[Answer] | None = None,
) -> None:
    """Grade every question of the attempt (unanswered ones score 0), mark it submitted, hand the score on.

    Runs inside the caller's transaction with the attempt row locked. ``questions``: the attempt's, whole, if
    the caller has read them already (questions never change under an attempt: edits make a new version).
    ``graded``: every answer of the attempt, one per question, all objective and just written with their grades
    in this transaction (services/attempts.py, ``_submit``): nothing to read or write again."""
    if questions is None or set(questions) != set(attempt.question_ids):
        questions = Question.objects.in_bulk(attempt.question_ids)
    if graded is not None and {a.question_id for a in graded} == set(attempt.question_ids) == set(questions):
        _attempt_total(attempt, graded, questions, confidences=[])
        return
    existing = {a.question_id: a for a in Answer.objects.filter(attempt=attempt)}
    missing = [
        Answer(attempt=attempt, question_id=qid, max_score=questions[qid].points)
        for qid in attempt.question_ids
        if qid not in existing
    ]
    Answer.objects.bulk_create(missing)
    answers = [*existing.values(), *missing]
    confidences: list[float] = []
    provider = None
    for answer in answers:
        question = questions[answer.question_id]
        answer.max_score = question.points
        if question.type != Question.Type.FREE_TEXT:
            answer.score, answer.graded_by = grade_objective(question, answer.response), Answer.GradedBy.EXACT
            continue
        text = str(answer.response or "")
        grade = ai_grades.get((question.pk, text))
        if grade is None:  # changed after the grading pass: grade it now
            provider = provider or provider_for(ai_control_of(attempt.quiz.context.registration_id))
            try:
                grade = grade_free_text(provider, question, text)
            except ProviderError as exc:
                grade = FreeTextGrade(0.0, 0.0, f"Not graded: {exc}. Please grade it.", "")
        answer.score, answer.confidence = grade.score, grade.confidence
        answer.rationale, answer.model, answer.graded_by = grade.rationale, grade.model, Answer.GradedBy.AI
        answer.ai_provider, answer.prompt_version = grade.ai_provider, grade.prompt_version
        answer.needs_review = bool(text.strip()) and grade.confidence < attempt.quiz.review_threshold
        if text.strip():
            confidences.append(grade.confidence)
    _write_grades(answers)
    _attempt_total(attempt, answers, questions, confidences=confidences)


def _attempt_total(
    attempt: Attempt, answers: list[Answer], questions: dict[int, Question], *, confidences: list[float]
) -> None:
    """The attempt's total from its graded ``answers``: marked submitted, late policy applied, score handed on."""
    attempt.score = sum(a.score or 0 for a in answers)
    attempt.score_maximum = sum(q.points for q in questions.values())
    attempt.needs_review = any(a.needs_review for a in answers)
    attempt.state, attempt.submitted_at = Attempt.State.SUBMITTED, timezone.now()
    late_apply(attempt=attempt)  # the late policy, before the score goes to the gradebook (windows.py)
    if attempt.resource_link is not None and not attempt.is_preview and attempt.score_maximum > 0:
        ai_used = bool(confidences)
        score = score_submit(
            user=attempt.user,
            resource_link=attempt.resource_link,
            score_given=attempt.score,
            score_maximum=attempt.score_maximum,
            activity_progress="Completed",
            source="ai" if ai_used else "automatic",
            confidence=min(confidences) if ai_used else None,
            review_threshold=attempt.quiz.review_threshold,
            line_item_label=attempt.quiz.title,
            line_item_resource_id=f"quiz:{attempt.quiz_id}",
            line_item_tag="quiz",
            line_item_end=attempt.due_at,
            comment=late_comment(attempt),
        )
        attempt.score_ref = score.pk
    # Every submit writes it: one UPDATE built once (lean.update), not compiled by save() each time.
    lean.update(attempt, _TOTAL_FIELDS)


_TOTAL_FIELDS = (
    *("score", "score_maximum", "needs_review", "state", "submitted_at", "score_ref"),
    *("is_late", "late_penalty_percent"),
)


def _write_grades(answers: list[Answer]) -> None:
    """Objective grades in one UPDATE per (score, maximum): two or three statements for a whole attempt.

    ``bulk_update`` would build a CASE per row and field, ten times slower here (bench/quizzes.py)."""
    groups: dict[tuple[float | None, float], list[int]] = defaultdict(list)
    for answer in answers:
        if answer.graded_by == Answer.GradedBy.EXACT:
            groups[(answer.score, answer.max_score)].append(answer.pk)
        else:
            answer.save(
                update_fields=[
                    "score",
                    "max_score",
                    "graded_by",
                    "confidence",
                    "rationale",
                    "model",
                    "ai_provider",
                    "prompt_version",
                    "needs_review",
                ]
            )
    for (score, max_score), pks in groups.items():
        Answer.objects.filter(pk__in=pks).update(score=score, max_score=max_score, graded_by=Answer.GradedBy.EXACT)


def attempt_review_complete(*, attempt: Attempt, reviewer: LtiUser, comment: str) -> None:
    """All flagged answers decided: the attempt's new total goes to the gradebook as the reviewed grade."""
    total = Answer.objects.filter(attempt=attempt).aggregate(s=Sum("score"))["s"] or 0.0
    # A late attempt keeps its penalty after a review (windows.late_apply).
    attempt.score, attempt.needs_review = late_score(float(total), attempt.late_penalty_percent), False
    attempt.save(update_fields=["score", "needs_review"])
    if attempt.score_ref is None:
        return
    from lms_tool.grading.models import Score

    score = Score.objects.get(pk=attempt.score_ref)
    if score.review_state == "needs_review":
        score_review_decide(score=score, reviewer=reviewer, score_given=attempt.score, comment=comment)
    else:
        # Confident AI grades went straight to the gradebook; an instructor's later change is a new score.
        score_submit(
            user=attempt.user,
            resource_link=score.resource_link,
            score_given=attempt.score,
            score_maximum=attempt.score_maximum,
            source="instructor",
            comment=comment,
            review_threshold=attempt.quiz.review_threshold,
        )
