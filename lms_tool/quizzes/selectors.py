"""Reads of the quizzes app: what a launch may see.

Every read is scoped to the launch's registration AND course (``lti.selectors.launch_scope``, already checked
by the page decorator): an id of another course or another platform answers exactly like a missing one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy

from lms_tool.core import lean
from lms_tool.lti.models import Context, LtiUser
from lms_tool.lti.selectors import launch_scope
from lms_tool.lti.types import LtiLaunch

from .errors import QuizError
from .models import Answer, Attempt, AttemptQuestion, GenerationRun, Question, Quiz
from .services.attempts import QUESTION_FOR_ANSWER
from .services.delivery import quiz_question_count

NO_QUIZ = gettext_lazy("There is no such quiz in this course.")
NO_ATTEMPT = gettext_lazy("There is no such attempt of yours in this course.")


def _course(launch: LtiLaunch) -> int:
    context_pk = launch_scope(launch=launch).context_pk
    if context_pk is None:
        raise QuizError(gettext_lazy("This launch is not inside a course; open the tool from a course."), status=400)
    return context_pk


def _in_course(launch: LtiLaunch) -> Q:
    """The quizzes of the launch's course, under the launch's registration."""
    return Q(context_id=launch_scope(launch=launch).context_pk, context__registration_id=launch.registration_id)


def quizzes_for_staff(*, launch: LtiLaunch) -> QuerySet[Quiz]:
    """The quizzes of the launch's course."""
    _course(launch)
    return Quiz.objects.filter(_in_course(launch)).annotate(
        question_count=Count("questions", filter=Q(questions__is_current=True))
    )


def quizzes_for_picker(*, launch: LtiLaunch) -> QuerySet[Quiz]:
    """What the picker offers: the course's quizzes, and those this person made in other courses of the same
    registration (embedding one gives this course its own copy at the first launch, ``services.quiz_copy``)."""
    _course(launch)
    # Another course's quiz only while this person is still an active member there: a teacher dropped from a
    # course cannot carry its quizzes (answers included) into another one by picking and copying them.
    elsewhere = Q(
        created_by_id=launch.user_pk,
        context__registration_id=launch.registration_id,
        context__memberships__user_id=launch.user_pk,
        context__memberships__is_active=True,
    )
    return (
        Quiz.objects.filter(_in_course(launch) | elsewhere)
        .distinct()
        .annotate(question_count=Count("questions", filter=Q(questions__is_current=True)))
    )


def quiz_for_staff(*, launch: LtiLaunch, quiz_id: int) -> Quiz:
    quiz = quizzes_for_staff(launch=launch).filter(pk=quiz_id).first()
    if quiz is None:
        raise QuizError(NO_QUIZ, status=404)
    return quiz


def quiz_for_learner(*, launch: LtiLaunch, quiz_id: int) -> Quiz:
    """A quiz of the launch's course (the link's activity was resolved to it by ``quiz_locate``)."""
    _course(launch)
    if launch.is_staff:
        quiz = Quiz.objects.filter(_in_course(launch), pk=quiz_id).first()
    else:
        # A draft answers like a missing quiz to learners. The course is the launch's, checked under its
        # registration by launch_scope; not the course text the quiz was generated from (no learner page reads it).
        where = {"id": quiz_id, "context": launch_scope(launch=launch).context_pk, "status": Quiz.Status.PUBLISHED}
        quiz = lean.first(Quiz, where, without=frozenset({"source_text"}))
    if quiz is None:
        raise QuizError(NO_QUIZ, status=404)
    return quiz


def quiz_in_course(*, launch: LtiLaunch, quiz_id: int) -> Quiz | None:
    if launch_scope(launch=launch).context_pk is None:
        return None
    return Quiz.objects.filter(_in_course(launch), pk=quiz_id).first()


def quiz_copy_in_course(*, launch: LtiLaunch, original_id: int) -> Quiz | None:
    """The launch's course's own copy of quiz ``original_id`` (made at an earlier launch of a copied link)."""
    if launch_scope(launch=launch).context_pk is None:
        return None
    return Quiz.objects.filter(_in_course(launch), copied_from_id=original_id).order_by("pk").first()


def quiz_of_registration(*, launch: LtiLaunch, quiz_id: int) -> Quiz | None:
    """A quiz of any course of the launch's registration: only for a link the tool proved it issued."""
    return Quiz.objects.filter(pk=quiz_id, context__registration_id=launch.registration_id).first()


def attempt_for_launch(*, launch: LtiLaunch, attempt_id: int) -> Attempt:
    """An attempt of the launch's person at a quiz of the launch's course; a launch outside a course reaches none.

    The person's membership of that course is active: the page decorator checked it (``launch_scope``)."""
    return _attempt_read(launch, attempt_id, None)[0]


def attempt_with_question_for_launch(
    *, launch: LtiLaunch, attempt_id: int, question_id: int
) -> tuple[Attempt, Question | None]:
    """``attempt_for_launch`` and, in the same statement (every autosave), the question ``question_id`` as saving an
    answer reads it (``QUESTION_FOR_ANSWER``), or None if there is no such question. Whether the question is one of
    the attempt's is the caller's to check (``attempt.question_ids``)."""
    return _attempt_read(launch, attempt_id, question_id)


def _attempt_read(launch: LtiLaunch, attempt_id: int, question_id: int | None) -> tuple[Attempt, Question | None]:
    context_pk = launch_scope(launch=launch).context_pk
    if context_pk is None:
        raise QuizError(NO_ATTEMPT, status=404)
    params = [attempt_id, launch.user_pk, launch.registration_id, context_pk, launch.registration_id]
    if question_id is None or not 0 < question_id < 2**63:  # no such key (nor a value the database can compare)
        found = lean.joined_from(_ATTEMPT_PARTS, (), _attempt_tail(), params)
    else:
        tail = _attempt_tail(with_question=True)
        found = lean.joined_from(_attempt_question_parts(), (), tail, [question_id, *params])
    if not found:
        raise QuizError(NO_ATTEMPT, status=404)
    attempt, quiz, *asked = found[0]
    attempt.quiz = quiz
    question = asked[0] if asked and asked[0].pk is not None else None  # a LEFT JOIN that found none: all NULL
    return attempt, question


# Every attempt request (autosave, submit, the page) reads the attempt with its quiz, within the launch's person and
# course, in one statement built once; not the course text the quiz was generated from (no attempt page reads it).
_ATTEMPT_PARTS: tuple[lean.Part, ...] = ((Attempt, "a", frozenset()), (Quiz, "q", frozenset({"source_text"})))


@functools.cache
def _attempt_question_parts() -> tuple[lean.Part, ...]:
    return (*_ATTEMPT_PARTS, (Question, "qq", lean.only(Question, *QUESTION_FOR_ANSWER)))


@functools.cache
def _attempt_tail(*, with_question: bool = False) -> str:
    a, q, x, u, qq = (model._meta for model in (Attempt, Quiz, Context, LtiUser, Question))
    # The question's join comes first in the text, so its parameter is the first one.
    question = f"LEFT JOIN {qq.db_table} qq ON qq.id = %s " if with_question else ""
    return (
        f"FROM {a.db_table} a JOIN {q.db_table} q ON a.quiz_id = q.id JOIN {x.db_table} x ON q.context_id = x.id "
        f"JOIN {u.db_table} u ON a.user_id = u.id {question}"
        "WHERE a.id = %s AND a.user_id = %s AND u.registration_id = %s AND q.context_id = %s "
        "AND x.registration_id = %s"
    )


def attempts_of(*, quiz: Quiz, launch: LtiLaunch) -> QuerySet[Attempt]:
    return Attempt.objects.filter(
        quiz=quiz,
        quiz__context_id=_course(launch),
        user_id=launch.user_pk,
        resource_link_id=launch.resource_link_pk,
    )


@dataclass(frozen=True)
class TakeState:
    """What a learner's quiz page shows: their attempts, the one in progress, how many are left (None: no limit)."""

    attempts: list[Attempt]
    open_attempt: Attempt | None
    left: int | None
    question_count: int
    allowed: int = 0  # attempts allowed with the learner's allowance (services/accommodations.py); 0: no limit


def quiz_take_state(*, quiz: Quiz, launch: LtiLaunch) -> TakeState:
    from .services.accommodations import attempts_allowed

    attempts = list(attempts_of(quiz=quiz, launch=launch))
    allowed = attempts_allowed(quiz=quiz, user_id=launch.user_pk) if not launch.is_staff else quiz.max_attempts
    return TakeState(
        attempts=attempts,
        open_attempt=next((a for a in attempts if a.is_open), None),
        left=None if not allowed else max(0, allowed - len(attempts)),
        question_count=quiz_question_count(quiz, quiz.questions.approved().count()),
        allowed=allowed,
    )


def latest_run(*, quiz: Quiz) -> GenerationRun | None:
    return quiz.generation_runs.first()


def review_queue(*, launch: LtiLaunch) -> QuerySet[Answer]:
    """Flagged AI grades in the launch's course, oldest first."""
    return (
        Answer.objects.awaiting_review()
        .filter(
            attempt__quiz__context_id=_course(launch),
            attempt__quiz__context__registration_id=launch.registration_id,
            # Implied by an answer awaiting review (scoring.attempt_grade sets it, the last review clears it);
            # said here so the database starts from the few flagged attempts, not every answer of the course:
            # this count is on every staff page's navigation (bench/analytics.py).
            attempt__needs_review=True,
        )
        .select_related("question", "attempt", "attempt__user", "attempt__quiz")
        .order_by("attempt__submitted_at", "pk")
    )


def review_answer(*, launch: LtiLaunch, answer_id: int) -> Answer:
    answer = (
        Answer.objects.select_related("attempt", "attempt__quiz")
        .filter(
            pk=answer_id,
            attempt__quiz__context_id=_course(launch),
            attempt__quiz__context__registration_id=launch.registration_id,
        )
        .first()
    )
    if answer is None:
        raise QuizError(gettext_lazy("There is no such answer to review in this course."), status=404)
    return answer


def attempt_seen(*, attempt: Attempt) -> list[AttemptQuestion]:
    """What ``attempt`` was given, in order, with each question and its option order. An attempt without rows
    (made outside ``attempt_start``) saw ``question_ids`` with options as written."""
    rows = []
    for row, question in lean.joined_from(_SEEN_PARTS, (), _seen_tail(), [attempt.pk]):
        row.question = question
        rows.append(row)
    if rows or not attempt.question_ids:
        return rows
    questions = Question.objects.in_bulk(attempt.question_ids)
    return [
        AttemptQuestion(attempt=attempt, question=questions[qid], position=n, option_order=[])
        for n, qid in enumerate(attempt.question_ids, start=1)
        if qid in questions
    ]


def attempt_answers(*, attempt: Attempt) -> list[Answer]:
    """The attempt's saved answers (at most one per question it was given), read lean: every attempt page."""
    return lean.rows(Answer, {"attempt": attempt.pk}, limit=max(len(attempt.question_ids), 1))


# The attempt page and the result read the draw with its questions: one statement built once.
_SEEN_PARTS: tuple[lean.Part, ...] = ((AttemptQuestion, "aq", frozenset()), (Question, "q", frozenset()))


@functools.cache
def _seen_tail() -> str:
    aq, q = AttemptQuestion._meta, Question._meta
    return f"FROM {aq.db_table} aq JOIN {q.db_table} q ON aq.question_id = q.id WHERE aq.attempt_id = %s ORDER BY aq.position"


def attempt_questions(*, attempt: Attempt) -> list[Question]:
    """The questions ``attempt`` saw (its draw), in the order it saw them: what item analysis counts it for."""
    return [row.question for row in attempt_seen(attempt=attempt)]


def question_seen_counts(*, quiz: Quiz, submitted_only: bool = True) -> dict[int, int]:
    """{question id: number of (submitted, non-preview) attempts that saw it} for ``quiz``: the denominator of a
    question's item statistics when each learner draws a subset. The caller has scoped ``quiz`` to its launch."""
    rows = AttemptQuestion.objects.filter(attempt__quiz=quiz, attempt__is_preview=False)
    if submitted_only:
        rows = rows.filter(attempt__state=Attempt.State.SUBMITTED)
    return dict(rows.values("question_id").annotate(n=Count("attempt_id")).values_list("question_id", "n"))
