"""Regrade the answers given to an older revision of a question with the key of the revision that replaced it.

An edit after answers makes a new revision (``authoring.question_update``) and the attempts keep the one they
saw, so a corrected key changes nothing for them by itself. When the fix was to a wrong key, the instructor
can have those answers graded again: each changed attempt gets its new total, and where that attempt's score
is the one the gradebook holds, the new score goes to the outbox (``grading.score_submit``) like any other.
One audit line records the question, both keys and every attempt's before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from lms_tool.core.services import audit_record
from lms_tool.grading.models import PassbackState, Score
from lms_tool.grading.services import score_submit
from lms_tool.lti.models import LtiUser

from ..errors import QuizError
from ..models import Answer, Attempt, Question
from .grading import grade_objective


@dataclass(frozen=True)
class RegradeResult:
    answers_changed: int
    attempts_changed: int
    scores_reposted: int


def question_successor(*, question: Question) -> Question | None:
    """The current revision that replaced ``question`` (following later edits), or None."""
    seen = question
    for _ in range(100):  # a chain of edits, never a cycle; the bound only guards against bad data
        nxt = Question.objects.filter(supersedes=seen).order_by("-pk").first()
        if nxt is None:
            break
        if nxt.is_current:
            return nxt
        seen = nxt
    return None


def _key_of(question: Question, successor: Question) -> Question:
    """The old revision as it would be graded with the new key: its options and points, the successor's key."""
    if question.type != successor.type:
        raise QuizError(
            gettext("The new revision is a different kind of question; its key cannot grade the old answers.")
        )
    if question.is_choice and len(question.options) != len(successor.options):
        raise QuizError(
            gettext(
                "The new revision has a different number of options, so old answers cannot be matched to them. "
                "Regrading works when the fix keeps the options and changes which one is right."
            )
        )
    return Question(
        type=question.type,
        options=question.options,
        correct=successor.correct,
        answers=successor.answers,
        numeric_answer=successor.numeric_answer,
        tolerance=successor.tolerance,
        points=question.points,
    )


def _in_gradebook(attempt: Attempt) -> bool:
    """Is this attempt's score the newest the gradebook has or is getting for this learner and column?"""
    if attempt.score_ref is None or attempt.resource_link_id is None or attempt.is_preview:
        return False
    score = Score.objects.filter(pk=attempt.score_ref).values("line_item_id", "user_id").first()
    if score is None:
        return False
    return not (
        Score.objects.filter(line_item_id=score["line_item_id"], user_id=score["user_id"], pk__gt=attempt.score_ref)
        .exclude(passback_state=PassbackState.SUPERSEDED)
        .exists()
    )


@transaction.atomic
def question_regrade(*, question: Question, user: LtiUser) -> RegradeResult:
    """Grade the submitted answers to ``question`` again with its successor's key; re-post changed scores."""
    if question.type == Question.Type.FREE_TEXT:
        raise QuizError(gettext("Free-text answers are graded by the AI and the review queue, not by a key."))
    successor = question_successor(question=question)
    if successor is None:
        raise QuizError(
            gettext("This question has not been replaced by a corrected revision; edit it first."), status=409
        )
    key = _key_of(question, successor)
    answers = list(
        Answer.objects.select_for_update()
        .filter(question=question, attempt__state=Attempt.State.SUBMITTED)
        .order_by("pk")
    )
    changed: dict[int, float] = {}
    for answer in answers:
        score = grade_objective(key, answer.response)
        if answer.score is None or abs(score - answer.score) > 1e-9:
            Answer.objects.filter(pk=answer.pk).update(score=score, graded_by=Answer.GradedBy.EXACT)
            changed[answer.attempt_id] = score
    attempts = list(
        Attempt.objects.select_for_update(of=("self",))
        .select_related("user", "resource_link", "quiz")
        .filter(pk__in=list(changed))
        .order_by("pk")
    )
    totals = dict(
        Answer.objects.filter(attempt_id__in=list(changed))
        .values("attempt_id")
        .annotate(total=Sum("score"))
        .order_by()
        .values_list("attempt_id", "total")
    )
    record: dict[str, list[float | None]] = {}
    reposted = 0
    for attempt in attempts:
        before, after = attempt.score, float(totals.get(attempt.pk) or 0.0)
        record[str(attempt.pk)] = [before, after]
        attempt.score = after
        fields = ["score"]
        # Held for review: the review's completion posts the (new) total itself (scoring.attempt_review_complete).
        if not attempt.needs_review and attempt.resource_link and _in_gradebook(attempt):
            posted = score_submit(
                user=attempt.user,
                resource_link=attempt.resource_link,
                score_given=after,
                score_maximum=attempt.score_maximum,
                source="instructor",
                comment="Regraded after a corrected answer key.",
                review_threshold=attempt.quiz.review_threshold,
            )
            attempt.score_ref = posted.pk
            fields.append("score_ref")
            reposted += 1
        attempt.save(update_fields=fields)
    audit_record(
        actor_type="user",
        actor_id=str(user.pk),
        action="quiz.question.regrade",
        object_type="quiz_question",
        object_id=question.pk,
        before={"correct": question.correct, "answers": question.answers, "numeric": question.numeric_answer},
        after={
            "revision": successor.pk,
            "correct": successor.correct,
            "answers": successor.answers,
            "numeric": successor.numeric_answer,
            "attempts": record,  # attempt id -> [score before, after]; ids, never names
            "answers_changed": sum(1 for _ in changed),
            "scores_reposted": reposted,
        },
    )
    return RegradeResult(answers_changed=len(changed), attempts_changed=len(attempts), scores_reposted=reposted)
