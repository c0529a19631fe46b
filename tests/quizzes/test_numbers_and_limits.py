"""What people read on the quiz pages: numbers as they typed them, the material limit before pasting."""

from __future__ import annotations

import pytest

from lms_tool.quizzes.models import Attempt, Question
from lms_tool.sandbox.platform import LaunchSpec

from .factories import make_quiz
from .flow import seat

pytestmark = pytest.mark.usefixtures("eager")


def test_the_new_quiz_form_says_the_material_limit_before_pasting(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))

    page = teacher.session.get(f"{tool_url}/quizzes/new/", params={"launch": teacher.launch_id}, timeout=10)

    assert page.status_code == 200 and "at most 200,000 characters" in page.text


def test_a_numeric_answer_is_shown_as_typed_not_as_a_float(canvas, course, instructor, student, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=1, types=["numeric"])  # type: ignore[arg-type]
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    s, launch_id = learner.session, learner.launch_id
    s.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": launch_id}, timeout=10)
    attempt = Attempt.objects.get(quiz=quiz)
    (question,) = Question.objects.filter(pk__in=attempt.question_ids)

    result = s.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/",
        data={"launch": launch_id, f"q{question.pk}": "46"},
        timeout=10,
    )

    assert result.status_code == 200
    assert 'data-testid="numeric-answer">46</span>' in result.text and "46.0" not in result.text
