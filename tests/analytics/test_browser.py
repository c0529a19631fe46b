"""In a real browser: the instructor goes from the course home to a quiz's results, then to the question
flags, by keyboard and on a phone, with zero serious axe findings on each page."""

from __future__ import annotations

import pytest

from lms_tool.lti.models import ResourceLink
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from ..quizzes.flow import seat
from .builders import wrong_key_quiz

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_course_home_to_results_to_the_flag_on_a_wrong_key(page, canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = wrong_key_quiz(teacher.context, ResourceLink.objects.get(pk=teacher.lti.resource_link_pk))

    page.goto(f"{tool_url}/lti/course/?launch={teacher.launch_id}")
    row = page.get_by_test_id("overview-row").filter(has_text="Energy")
    assert "12" in row.inner_text() and "In the course" in row.inner_text()
    axe_check(page, what="the course home with its figures")
    row.get_by_test_id("results-link").focus()
    page.keyboard.press("Enter")  # by keyboard

    page.locator('[data-view="quiz-results"]').wait_for()
    assert page.get_by_test_id("result-row").count() == 12
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    axe_check(page, what="a quiz's results")
    page.get_by_label("Name contains").fill("L0")
    page.get_by_label("Name contains").press("Enter")
    page.locator('[data-view="quiz-results"]').wait_for()
    assert page.get_by_test_id("result-row").count() == 10  # L00..L09, not L10 and L11
    page.get_by_test_id("items-link").click()

    page.locator('[data-view="quiz-items"]').wait_for()
    flagged = page.locator(f'[data-testid="item"][data-question="{quiz.questions.get(position=2).pk}"]')
    codes = flagged.get_attribute("data-flags") or ""
    assert "distractor_beats_key" in codes and "negative_discrimination" in codes
    assert "picked \u201cMitochondria\u201d more often than the answer keyed correct" in flagged.inner_text()
    axe_check(page, what="the item analysis")
    flagged.get_by_test_id("fix-edit").click()
    page.locator("[data-view]").first.wait_for()
    assert "/questions/" in page.url and "/edit/" in page.url
