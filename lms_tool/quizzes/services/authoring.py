"""Instructors' writes: create a quiz, edit, delete, approve and publish its questions.

A question that students have answered is never changed in place: the edit becomes a new revision
and the old row stays, unchanged, with the attempts that used it; the quiz's version goes up.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from lms_tool.ai import QuestionDraft
from lms_tool.ai.validation import question_from_raw
from lms_tool.core.events import event_record
from lms_tool.core.services import audit_record
from lms_tool.lti.models import Context, LtiUser

from ..errors import QuizError
from ..models import GenerationRun, Question, Quiz
from .delivery import integrity_of, quiz_draw_check
from .generation import generation_check, generation_start
from .questions import question_retire, quiz_version_bump


def _audit(user: LtiUser | None, action: str, obj: Quiz | Question, before: Any = None, after: Any = None) -> None:
    audit_record(
        actor_type="user",
        actor_id=str(user.pk) if user else "",
        action=action,
        object_type="quiz" if isinstance(obj, Quiz) else "quiz_question",
        object_id=obj.pk,
        before=before,
        after=after,
    )


@transaction.atomic
def quiz_create(
    *,
    context: Context,
    user: LtiUser,
    title: str,
    text: str,
    source_name: str = "",
    count: int,
    types: list[str],
    difficulty: str = "medium",
    time_limit_minutes: int | None = None,
    max_attempts: int = 1,
    review_threshold: float | None = None,
) -> tuple[Quiz, GenerationRun]:
    generation_check(count=count, types=types, difficulty=difficulty)
    title = title.strip() or "Untitled quiz"
    extra = {} if review_threshold is None else {"review_threshold": _threshold(review_threshold)}
    quiz = Quiz.objects.create(
        context=context,
        created_by=user,
        title=title[:200],
        source_text=text,
        source_name=source_name[:255],
        time_limit_minutes=time_limit_minutes or None,
        max_attempts=max_attempts,
        **extra,
    )
    _audit(user, "quiz.create", quiz, after={"title": quiz.title, "count": count, "types": types})
    return quiz, generation_start(quiz=quiz, count=count, types=types, difficulty=difficulty)


def _threshold(value: float) -> float:
    if not 0 <= value <= 1:
        raise QuizError(gettext("The review threshold is a confidence between 0 and 1 (for example 0.8)."))
    return value


@transaction.atomic
def quiz_settings_update(
    *, quiz: Quiz, user: LtiUser, title: str, time_limit_minutes: int | None, max_attempts: int, review_threshold: float
) -> Quiz:
    before = {"title": quiz.title, "time_limit": quiz.time_limit_minutes, "max_attempts": quiz.max_attempts}
    quiz.title = title.strip()[:200] or quiz.title
    quiz.time_limit_minutes = time_limit_minutes or None
    quiz.max_attempts = max_attempts
    quiz.review_threshold = _threshold(review_threshold)
    quiz.save()
    _audit(
        user,
        "quiz.settings",
        quiz,
        before,
        {"title": quiz.title, "time_limit": quiz.time_limit_minutes, "max_attempts": quiz.max_attempts},
    )
    return quiz


def question_draft_from_form(*, kind: str, data: dict[str, Any]) -> QuestionDraft:
    """An instructor's edit, checked by the same rules as a model's output (one answer, distinct options...)."""
    result = question_from_raw({"type": kind, **data}, allowed_types=[kind])
    if not isinstance(result, QuestionDraft):
        raise QuizError(gettext("The question cannot be saved: %(reason)s.") % {"reason": result.reason})
    return result


@transaction.atomic
def question_update(*, question: Question, user: LtiUser, draft: QuestionDraft, points: float) -> Question:
    """Save an edit (approved: a person wrote it); a new revision if students have answered the question."""
    if points <= 0:
        raise QuizError(gettext("A question is worth more than 0 points."))
    question = Question.objects.select_for_update().get(pk=question.pk)
    before = {
        "prompt": question.prompt,
        "options": question.options,
        "correct": question.correct,
        "answers": question.answers,
        "numeric": question.numeric_answer,
        "points": question.points,
    }
    target = question
    if question.given_answers.exists():
        Question.objects.filter(pk=question.pk).update(is_current=False)
        target = Question(
            quiz=question.quiz,
            position=question.position,
            type=question.type,
            revision=question.revision + 1,
            supersedes=question,
            difficulty=question.difficulty,
            generation_run=question.generation_run,
            model=question.model,
            ai_provider=question.ai_provider,
            prompt_version=question.prompt_version,
        )
        quiz_version_bump(quiz=question.quiz)
    for name in (
        "prompt",
        "options",
        "correct",
        "answers",
        "numeric_answer",
        "tolerance",
        "explanation",
        "source_passage",
    ):
        setattr(target, name, getattr(draft, name))
    target.points = points
    target.status = Question.Status.APPROVED
    target.save()
    _audit(user, "quiz.question.update", target, before, {"prompt": target.prompt, "revision": target.revision})
    return target


@transaction.atomic
def question_add(*, quiz: Quiz, user: LtiUser, draft: QuestionDraft, points: float) -> Question:
    """A question the instructor wrote by hand, at the end of the quiz: approved, since a person wrote it."""
    if points <= 0:
        raise QuizError(gettext("A question is worth more than 0 points."))
    quiz = Quiz.objects.select_for_update().get(pk=quiz.pk)
    position = (quiz.questions.aggregate(m=Max("position"))["m"] or 0) + 1
    question = Question.from_draft(draft, quiz=quiz, position=position, points=points, status=Question.Status.APPROVED)
    question.save(force_insert=True)
    quiz_version_bump(quiz=quiz)  # attempts already started keep the questions they drew
    _audit(user, "quiz.question.add", question, after={"prompt": question.prompt, "type": question.type})
    return question


@transaction.atomic
def question_delete(*, question: Question, user: LtiUser) -> None:
    _audit(user, "quiz.question.delete", question, before={"prompt": question.prompt})
    question_retire(question=question)


@transaction.atomic
def question_approve(*, question: Question, user: LtiUser) -> Question:
    Question.objects.filter(pk=question.pk).update(status=Question.Status.APPROVED)
    question.status = Question.Status.APPROVED
    _audit(user, "quiz.question.approve", question)
    return question


@transaction.atomic
def questions_approve_all(*, quiz: Quiz, user: LtiUser) -> int:
    changed = quiz.questions.current().filter(status=Question.Status.DRAFT).update(status=Question.Status.APPROVED)
    _audit(user, "quiz.questions.approve_all", quiz, after={"approved": changed})
    return changed


@transaction.atomic
def question_regenerate(*, question: Question, user: LtiUser) -> GenerationRun:
    _audit(user, "quiz.question.regenerate", question, before={"prompt": question.prompt})
    return generation_start(
        quiz=question.quiz, count=1, types=[question.type], difficulty=question.difficulty, replaces=question
    )


@transaction.atomic
def quiz_publish(*, quiz: Quiz, user: LtiUser) -> Quiz:
    """Publish once every current question is approved; students can then start attempts."""
    quiz = Quiz.objects.select_for_update().get(pk=quiz.pk)
    current = quiz.questions.current()
    # Generation first: while it runs the quiz may have no questions yet, and "write some" would mislead.
    if quiz.generation_runs.exclude(state__in=[GenerationRun.State.DONE, GenerationRun.State.FAILED]).exists():
        raise QuizError(
            gettext(
                "Questions are still being written. Wait until generation has finished (this page shows its "
                "progress), review them, then publish."
            )
        )
    if not current.exists():
        raise QuizError(
            gettext("The quiz has no questions yet. Write one below with “Write a question”, then publish.")
        )
    pending = current.filter(status=Question.Status.DRAFT).count()
    if pending:
        raise QuizError(
            ngettext(
                "%(count)d question still needs your review. Approve, edit or delete them first.",
                "%(count)d questions still need your review. Approve, edit or delete them first.",
                pending,
            )
            % {"count": pending}
        )
    quiz_draw_check(quiz)  # a draw larger than the approved questions (docs/assessment.md, "Integrity settings")
    quiz.status = Quiz.Status.PUBLISHED
    quiz.published_at = quiz.published_at or timezone.now()
    quiz.save(update_fields=["status", "published_at", "updated_at"])
    _audit(user, "quiz.publish", quiz, after={"version": quiz.version, "questions": current.count()})
    event_record(
        type="quiz.published",
        subject_type="quiz",
        subject_id=quiz.pk,
        data={"title": quiz.title, "version": quiz.version},
        context_pk=quiz.context_id,
    )
    return quiz


# Copied along with a question: its content, not its history (answers, runs and older revisions stay behind).
QUESTION_FIELDS = (
    "position",
    "type",
    "prompt",
    "options",
    "correct",
    "answers",
    "numeric_answer",
    "tolerance",
    "points",
    "explanation",
    "source_passage",
    "difficulty",
    "status",
    "model",
    "ai_provider",
    "prompt_version",
)


@transaction.atomic
def quiz_copy(*, original: Quiz, context: Context, actor: LtiUser | None) -> Quiz:
    """``context``'s own copy of ``original`` (a quiz of another course of the same registration): settings and
    current approved questions, no attempts. Made once: a later call returns the copy already made."""
    if original.context.registration_id != context.registration_id:
        raise QuizError(gettext("There is no such quiz in this course."), status=404)
    Quiz.objects.select_for_update().filter(pk=original.pk).first()  # one copy, even for two first launches
    existing = Quiz.objects.filter(context=context, copied_from=original).order_by("pk").first()
    if existing is not None:
        return existing
    copy = Quiz.objects.create(
        context=context,
        created_by=original.created_by,
        copied_from=original,
        title=original.title,
        source_name=original.source_name,
        source_text=original.source_text,
        status=original.status,
        time_limit_minutes=original.time_limit_minutes,
        max_attempts=original.max_attempts,
        review_threshold=original.review_threshold,
        published_at=original.published_at,
        # The policies travel with a course copy; the dates do not (a copy is for another term: docs/assessment.md).
        late_policy=original.late_policy,
        late_penalty_percent=original.late_penalty_percent,
        timer_extension_minutes=original.timer_extension_minutes,
        **integrity_of(original),
    )
    questions = [
        Question(quiz=copy, **{name: getattr(q, name) for name in QUESTION_FIELDS})
        for q in original.questions.approved().order_by("position", "pk")
    ]
    Question.objects.bulk_create(questions)
    _audit(
        actor,
        "quiz.copy",
        copy,
        after={"copied_from": original.pk, "from_context": original.context_id, "questions": len(questions)},
    )
    return copy
