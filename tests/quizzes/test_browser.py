"""In a real browser (Playwright + Debian chromium): an instructor creates and publishes a quiz, a student takes it.

The pages are opened with the launch id of a real launch from the sandbox platform, as the platform's
iframe would open them; keyboard use and the answers saved as they are given are checked on the way.
"""

from __future__ import annotations

import pytest

from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from .factories import course_text
from .flow import seat

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager")]


def test_an_instructor_creates_and_publishes_a_quiz_and_a_student_takes_it(
    page,
    canvas,
    course,
    instructor,
    student,
    tool_url,
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    page.goto(f"{tool_url}/quizzes/new/?launch={teacher.launch_id}")
    page.get_by_label("Title").fill("Water cycle")
    page.get_by_label("Course text").fill(course_text("water_cycle.md"))
    page.get_by_label("Number of questions").fill("3")
    page.get_by_label("Short answer").uncheck()
    page.get_by_label("Time limit (minutes)").fill("20")
    page.get_by_test_id("create").click()

    page.locator('[data-view="quiz-manage"]').wait_for()
    assert page.get_by_test_id("question").count() == 3
    assert "Done: 3 questions written" in page.get_by_test_id("run-state").inner_text()
    axe_check(page, what="the quiz's staff page")
    page.get_by_test_id("approve-all").click()
    page.get_by_test_id("publish").click()
    assert page.get_by_test_id("quiz-status").inner_text() == "Published"
    quiz = Quiz.objects.get(title="Water cycle")

    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/?launch={learner.launch_id}")
    page.get_by_test_id("start").click()
    page.locator('[data-view="attempt"]').wait_for()
    axe_check(page, what="the student's attempt page")
    attempt = Attempt.objects.get(quiz=quiz)
    questions = [Question.objects.get(pk=pk) for pk in attempt.question_ids]
    first = questions[0]
    box = page.locator(f'fieldset[data-question="{first.pk}"]')
    box.locator("input").nth(first.correct[0]).focus()
    page.keyboard.press("Space")  # by keyboard
    page.get_by_test_id("save-status").filter(has_text="Saved.").wait_for()
    assert Answer.objects.get(attempt=attempt, question=first).response == first.correct

    page.reload()  # a dropped connection: the answer is still there
    assert page.locator(f'fieldset[data-question="{first.pk}"] input').nth(first.correct[0]).is_checked()
    for question in questions[1:]:
        page.locator(f'fieldset[data-question="{question.pk}"] input').nth(question.correct[0]).check()
    page.get_by_test_id("submit").click()

    page.locator('[data-view="result"]').wait_for()
    assert page.get_by_test_id("score").inner_text() == "3 / 3"
    assert Attempt.objects.get(pk=attempt.pk).score_ref is not None
