"""What the deep-linking picker offers from this app, and where a launch of a quiz goes."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from lms_tool.lti.deep_linking import PickableItem
from lms_tool.lti.types import LtiLaunch

from .models import Quiz
from .selectors import quizzes_for_staff


def quiz_items(launch: LtiLaunch) -> list[PickableItem]:
    items = []
    for quiz in quizzes_for_staff(launch=launch).filter(status=Quiz.Status.PUBLISHED):
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


def quiz_open_url(launch: LtiLaunch, item_id: str) -> str:
    quiz_id = int(item_id) if item_id.isdigit() else 0  # a bad id opens the "no such quiz" page
    return reverse("quizzes:open", args=[quiz_id]) + "?" + urlencode({"launch": launch.launch_id})
