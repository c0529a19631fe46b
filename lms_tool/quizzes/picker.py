"""What the deep-linking picker and the course home show from this app, and which quiz ``activity=quiz:<id>`` opens."""

from __future__ import annotations

from lms_tool.lti.activities import activity_locate
from lms_tool.lti.course_home import CourseItem, CourseSection, NavLink, register_course_section, register_nav_link
from lms_tool.lti.decorators import page_url
from lms_tool.lti.deep_linking import PickableItem, register_activity_source
from lms_tool.lti.types import LtiLaunch

from . import selectors, services
from .models import Quiz


def quiz_items(launch: LtiLaunch) -> list[PickableItem]:
    if launch.context_pk is None:
        return []
    items = []
    for quiz in selectors.quizzes_for_picker(launch=launch).filter(status=Quiz.Status.PUBLISHED):
        points = sum(q.points for q in quiz.questions.approved())
        items.append(
            PickableItem(
                kind="quiz",
                id=str(quiz.pk),
                title=quiz.title,
                score_maximum=points or 1,
                resource_id=f"quiz:{quiz.pk}",
                tag="quiz",
                text=f"{quiz.question_count} questions",  # type: ignore[attr-defined]
            )
        )
    return items


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
                text=f"{count} question{'' if count == 1 else 's'}",
                activity=f"quiz:{quiz.pk}",
            )
        )
    return items


def quiz_new_url(launch: LtiLaunch, picking: bool) -> str:
    return page_url("quizzes:new", launch, **({"pick": "1"} if picking else {}))


def review_count(launch: LtiLaunch) -> int:
    return selectors.review_queue(launch=launch).count()


def register() -> None:
    register_activity_source("quiz", "Quizzes", quiz_items, quiz_open_url, quiz_locate)
    register_course_section(
        CourseSection(
            kind="quiz", label="Quizzes", items=quiz_course_items, new_label="Create a new quiz", new_url=quiz_new_url
        )
    )
    register_nav_link(
        NavLink(
            key="review",
            label="Review queue",
            url=lambda launch: page_url("quizzes:review", launch),
            count=review_count,
            order=10,
        )
    )
