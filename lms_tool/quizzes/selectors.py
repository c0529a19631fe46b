"""Reads of the quizzes app: what a launch may see."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from lms_tool.lti.types import LtiLaunch

from .errors import QuizError
from .models import Answer, Attempt, GenerationRun, Quiz


def quizzes_for_staff(*, launch: LtiLaunch) -> QuerySet[Quiz]:
    """The quizzes of the launch's course, and those this person made in other courses of the platform."""
    mine = Q(context_id=launch.context_pk) | Q(
        created_by_id=launch.user_pk, context__registration_id=launch.registration_id
    )
    return Quiz.objects.filter(mine).annotate(question_count=Count("questions", filter=Q(questions__is_current=True)))


def quiz_for_staff(*, launch: LtiLaunch, quiz_id: int) -> Quiz:
    quiz = quizzes_for_staff(launch=launch).filter(pk=quiz_id).first()
    if quiz is None:
        raise QuizError("There is no such quiz in this course.", status=404)
    return quiz


def quiz_for_learner(*, launch: LtiLaunch, quiz_id: int) -> Quiz:
    """The quiz a learner's launch points at: the link's own activity, or a quiz of the course."""
    activity = str(launch.custom.get("activity") or "")
    quiz = Quiz.objects.filter(pk=quiz_id).first()
    if quiz is None or (activity != f"quiz:{quiz_id}" and quiz.context_id != launch.context_pk):
        raise QuizError("There is no such quiz in this course.", status=404)
    return quiz


def attempt_for_launch(*, launch: LtiLaunch, attempt_id: int) -> Attempt:
    attempt = Attempt.objects.select_related("quiz").filter(pk=attempt_id, user_id=launch.user_pk).first()
    if attempt is None:
        raise QuizError("There is no such attempt of yours.", status=404)
    return attempt


def attempts_of(*, quiz: Quiz, launch: LtiLaunch) -> QuerySet[Attempt]:
    return Attempt.objects.filter(quiz=quiz, user_id=launch.user_pk, resource_link_id=launch.resource_link_pk)


def latest_run(*, quiz: Quiz) -> GenerationRun | None:
    return quiz.generation_runs.first()


def _course(launch: LtiLaunch) -> int:
    if launch.context_pk is None:
        raise QuizError("This launch is not inside a course; open the tool from a course.", status=400)
    return launch.context_pk


def review_queue(*, launch: LtiLaunch) -> QuerySet[Answer]:
    """Flagged AI grades in the launch's course, oldest first."""
    return (
        Answer.objects.awaiting_review()
        .filter(attempt__quiz__context_id=_course(launch))
        .select_related("question", "attempt", "attempt__user", "attempt__quiz")
        .order_by("attempt__submitted_at", "pk")
    )


def review_answer(*, launch: LtiLaunch, answer_id: int) -> Answer:
    answer = (
        Answer.objects.select_related("attempt", "attempt__quiz")
        .filter(pk=answer_id, attempt__quiz__context_id=_course(launch))
        .first()
    )
    if answer is None:
        raise QuizError("There is no such answer to review in this course.", status=404)
    return answer
