"""What the deep-linking picker offers from this app, and which quiz a launch of ``activity=quiz:<id>`` opens."""

from __future__ import annotations

from lms_tool.lti.decorators import page_url
from lms_tool.lti.deep_linking import PickableItem
from lms_tool.lti.models import Context, LtiUser
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
    """The quiz of the launch's course that ``quiz:<item_id>`` opens, copying it into the course at the first
    launch of a (proven) link to another course of the same registration; None when out of reach."""
    if not item_id.isdigit() or launch.context_pk is None:
        return None
    pk = int(item_id)
    here = selectors.quiz_in_course(launch=launch, quiz_id=pk)
    if here is not None:
        return str(here.pk)
    if not proven:
        return None
    copied = selectors.quiz_copy_in_course(launch=launch, original_id=pk)
    if copied is not None:
        return str(copied.pk)
    original = selectors.quiz_of_registration(launch=launch, quiz_id=pk)
    if original is None:
        return None
    actor = LtiUser.objects.filter(pk=launch.user_pk).first()
    copy = services.quiz_copy(original=original, context=Context.objects.get(pk=launch.context_pk), actor=actor)
    return str(copy.pk)


def quiz_open_url(launch: LtiLaunch, item_id: str) -> str:
    return page_url("quizzes:open", launch, int(item_id))
