"""In a real browser: the learner's zone comes from the browser, the timer warns before the end, and the learner
extends it by keyboard (WCAG 2.2.1) where the instructor allows; the server's deadline moves with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from lms_tool.lti.timezones import launch_zone
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Attempt
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from .factories import course_text
from .flow import seat

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager")]


def test_the_timer_warns_and_the_learner_extends_it_in_their_browsers_zone(
    browser, canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz, run = services.quiz_create(
        context=teacher.context,
        user=teacher.instructor,
        title="Heart quiz",
        text=course_text(),
        count=2,
        types=["single"],
        time_limit_minutes=10,
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=quiz, user=teacher.instructor)
    services.quiz_publish(quiz=quiz, user=teacher.instructor)
    quiz.refresh_from_db()
    quiz.due_at, quiz.timer_extension_minutes = datetime(2030, 6, 1, 12, 0, tzinfo=UTC), 5
    quiz.save()
    learner = seat(canvas, LaunchSpec(student, course))  # the platform sends no zone

    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{tool_url}/quizzes/{quiz.pk}/take/?launch={learner.launch_id}")
        # The page drew the due date in the server's zone (named); the browser's zone replaces it, named too.
        page.locator('time[data-zone-source="browser"]').first.wait_for()
        due = page.get_by_test_id("due").inner_text()
        assert "2030" in due and "21:00" in due and "(Asia/Tokyo)" in due, due  # 12:00 UTC is 21:00 there
        for _ in range(50):  # the report is sent in the background
            if launch_zone(learner.lti).name == "Asia/Tokyo":
                break
            page.wait_for_timeout(100)
        assert launch_zone(learner.lti).name == "Asia/Tokyo"

        page.get_by_test_id("start").click()
        page.locator('[data-view="attempt"]').wait_for()
        assert "(Asia/Tokyo)" in page.locator("main").inner_text()  # the server now draws in the reported zone
        attempt = Attempt.objects.get(quiz=quiz)
        Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() + timedelta(seconds=63))
        page.reload()
        page.get_by_test_id("timer-alert").filter(has_text="1 minute left.").wait_for(timeout=10_000)
        axe_check(page, what="the attempt page with its timer warning and extension")

        page.get_by_test_id("extend").focus()
        page.keyboard.press("Enter")  # by keyboard
        page.get_by_test_id("timer-alert").filter(has_text="Time extended").wait_for()
        assert page.get_by_test_id("extend-left").inner_text() == "9 extensions left."
        timer = page.get_by_test_id("timer").inner_text()
        assert timer.startswith("6:") or timer.startswith("5:5"), timer
        moved = Attempt.objects.get(pk=attempt.pk)
        assert moved.extensions_used == 1 and moved.seconds_left() > 5 * 60
    finally:
        context.close()
