"""What the deep-linking picker and the course home show from this app, and which quiz ``activity=quiz:<id>`` opens."""

from __future__ import annotations

from django.utils.translation import gettext_lazy, ngettext

from lms_tool.lti.activities import activity_locate
from lms_tool.lti.course_home import CourseItem, CourseSection, NavLink, register_course_section, register_nav_link
from lms_tool.lti.decorators import page_url
from lms_tool.lti.deep_linking import (
    ItemWindow,
    PickableItem,
    ReviewTable,
    SubmissionReview,
    register_activity_source,
)
from lms_tool.lti.models import LtiUser
from lms_tool.lti.types import LtiLaunch

from . import selectors, services
from .models import Answer, Attempt, LatePolicy, Quiz
from .services.delivery import quiz_points_possible
from .services.windows import late_comment


def quiz_items(launch: LtiLaunch) -> list[PickableItem]:
    if launch.context_pk is None:
        return []
    items = []
    for quiz in selectors.quizzes_for_picker(launch=launch).filter(status=Quiz.Status.PUBLISHED):
        points = quiz_points_possible(quiz)  # a draw's share of the pool (services/delivery.py)
        items.append(
            PickableItem(
                kind="quiz",
                id=str(quiz.pk),
                title=quiz.title,
                score_maximum=points or 1,
                resource_id=f"quiz:{quiz.pk}",
                tag="quiz",
                text=ngettext("%(count)d question", "%(count)d questions", quiz.question_count)  # type: ignore[attr-defined]
                % {"count": quiz.question_count},  # type: ignore[attr-defined]
                # Submission Review 1.0 §3.1: a grader's link once the learner has submitted an attempt.
                reviewable_status=("Submitted", "Completed"),
                window=quiz_item_window(quiz),
            )
        )
    return items


def quiz_item_window(quiz: Quiz) -> ItemWindow | None:
    """The quiz's own dates for the Deep Linking item: open from ``opens_at`` to ``closes_at``; submissions until
    the due date when late work is refused, else until the close (services/windows.py)."""
    if not (quiz.opens_at or quiz.due_at or quiz.closes_at):
        return None
    submission_end = quiz.due_at if quiz.late_policy == LatePolicy.REFUSE and quiz.due_at else quiz.closes_at
    return ItemWindow(
        available_start=quiz.opens_at,
        available_end=quiz.closes_at,
        submission_start=quiz.opens_at,
        submission_end=submission_end,
        due_at=quiz.due_at,
    )


def quiz_locate(launch: LtiLaunch, item_id: str, proven: bool) -> str | None:
    """The quiz of the launch's course that ``quiz:<item_id>`` opens (copied at its first launch in another
    course of the registration); None when out of reach."""
    return activity_locate(
        launch,
        item_id,
        proven,
        in_course=lambda launch, pk: selectors.quiz_in_course(launch=launch, quiz_id=pk),
        copy_in_course=lambda launch, pk: selectors.quiz_copy_in_course(launch=launch, original_id=pk),
        of_registration=lambda launch, pk: selectors.quiz_of_registration(launch=launch, quiz_id=pk),
        copy=lambda original, context, actor: services.quiz_copy(original=original, context=context, actor=actor),
    )


def quiz_open_url(launch: LtiLaunch, item_id: str) -> str:
    return page_url("quizzes:open", launch, int(item_id))


def quiz_course_items(launch: LtiLaunch) -> list[CourseItem]:
    """The course's quizzes for its staff, drafts included (the course home and the picker's drafts)."""
    items = []
    for quiz in selectors.quizzes_for_staff(launch=launch).order_by("-updated_at"):
        count = quiz.question_count  # type: ignore[attr-defined]
        items.append(
            CourseItem(
                title=quiz.title,
                published=quiz.is_published,
                status=quiz.get_status_display(),
                url=page_url("quizzes:manage", launch, quiz.pk),
                text=ngettext("%(count)d question", "%(count)d questions", count) % {"count": count},
                activity=f"quiz:{quiz.pk}",
            )
        )
    return items


def quiz_new_url(launch: LtiLaunch, picking: bool) -> str:
    return page_url("quizzes:new", launch, **({"pick": "1"} if picking else {}))


def _graded(answer: Answer) -> str:
    if answer.graded_by == Answer.GradedBy.AI:
        state = (
            "reviewed by an instructor"
            if answer.reviewed_at
            else "awaiting an instructor's review"
            if answer.needs_review
            else "confident"
        )
        confidence = f", confidence {answer.confidence:.0%}" if answer.confidence is not None else ""
        return f"AI ({state}{confidence})"
    return answer.get_graded_by_display() or "Not graded"


def _response(answer: Answer) -> str:
    value = answer.response
    if value is None:
        return "\u2014"
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)[:500]


def quiz_review(launch: LtiLaunch, item_id: str, learner: LtiUser) -> SubmissionReview:
    """A grader's view of one learner's attempts at a quiz (LTI Submission Review 1.0): answers, scores, and the
    state of AI grades."""
    quiz = Quiz.objects.get(pk=int(item_id), context_id=launch.context_pk or 0)
    attempts = list(Attempt.objects.filter(quiz=quiz, user=learner, is_preview=False).order_by("number"))
    tables = []
    for attempt in attempts:
        answers = Answer.objects.filter(attempt=attempt).select_related("question").order_by("id")
        score = f"{attempt.score:g} / {attempt.score_maximum:g}" if attempt.score is not None else "not scored yet"
        tables.append(
            ReviewTable(
                f"Attempt {attempt.number}: {attempt.get_state_display()}, {score}"
                + (" (awaiting review)" if attempt.needs_review else "")
                + (f" ({late_comment(attempt).rstrip('.')})" if attempt.is_late else ""),
                ["Question", "Answer", "Score", "Graded by", "Feedback"],
                [
                    [
                        a.question.prompt[:200],
                        _response(a),
                        f"{a.score:g} / {a.max_score:g}" if a.score is not None else "\u2014",
                        _graded(a),
                        a.feedback or a.rationale[:300],
                    ]
                    for a in answers
                ],
            )
        )
    submitted = [a for a in attempts if a.state == Attempt.State.SUBMITTED]
    summary = [("Attempts", f"{len(attempts)} ({len(submitted)} submitted)")]
    if submitted and submitted[-1].score is not None:
        summary.append(("Latest submitted score", f"{submitted[-1].score:g} / {submitted[-1].score_maximum:g}"))
    return SubmissionReview(
        activity=quiz.title,
        summary=summary,
        tables=tables,
        empty="This learner has not started the quiz.",
    )


def review_count(launch: LtiLaunch) -> int:
    return selectors.review_queue(launch=launch).count()


def register() -> None:
    register_activity_source(
        "quiz", gettext_lazy("Quizzes"), quiz_items, quiz_open_url, quiz_locate, review=quiz_review
    )
    register_course_section(
        CourseSection(
            kind="quiz",
            label=gettext_lazy("Quizzes"),
            items=quiz_course_items,
            new_label=gettext_lazy("Create a new quiz"),
            new_url=quiz_new_url,
        )
    )
    register_nav_link(
        NavLink(
            key="review",
            label=gettext_lazy("Review queue"),
            url=lambda launch: page_url("quizzes:review", launch),
            count=review_count,
            order=10,
        )
    )
    # Beside the roster (order 30): a learner's extra time and attempts (docs/assessment.md, "Accommodations").
    register_nav_link(
        NavLink(
            key="accommodations",
            label=gettext_lazy("Accommodations"),
            url=lambda launch: page_url("quizzes:accommodations", launch),
            order=35,
        )
    )
