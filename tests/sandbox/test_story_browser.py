"""In a real browser (Playwright + Debian chromium), the whole story a newcomer clicks through after `make run`.

The sandbox page is on 127.0.0.1 and the tool on localhost (different sites), so the tool runs in a
cross-site iframe with Platform Storage, as inside a real platform. Celery tasks (generation, score
posting) run eagerly in the live server's thread: see the ``eager`` fixture for why.
"""

from __future__ import annotations

import pytest

from lms_tool.quizzes.models import Question, Quiz
from lms_tool.sandbox.services.ags_book import gradebook
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from ..browser import wait_shown
from ..quizzes.factories import course_text

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager")]


def _launch(page, person: str, *, what: str | None = None):  # type: ignore[no-untyped-def]
    page.get_by_test_id("launch-person").select_option(label=person)
    if what is not None:
        page.get_by_test_id("launch-what").select_option(what)
    page.get_by_test_id("launch").click()
    return page.frame_locator("#tool")


def test_an_instructor_embeds_a_new_quiz_and_a_students_score_reaches_the_sandbox_gradebook(page, sandbox):
    canvas = sandbox.platforms["canvas"]
    page.goto(sandbox.url)  # the Canvas-like platform first
    assert page.get_by_test_id("score-rules").inner_text().startswith("Score rules of this platform. Canvas keeps")

    tool = _launch(page, "Ada Lovelace — Instructor", what="deeplink")
    wait_shown(page, "tool", tool.locator('[data-view="pick"]'))
    tool.get_by_test_id("new-quiz").click()
    tool.get_by_label("Title").fill("Water cycle")
    tool.get_by_label("Course text").fill(course_text("water_cycle.md"))
    tool.get_by_label("Number of questions").fill("3")
    tool.get_by_label("Short answer").uncheck()
    tool.get_by_test_id("create").click()
    tool.get_by_test_id("approve-all").click()
    tool.get_by_test_id("publish").click()  # "Publish and add to course": one step, posted back to the platform

    # The tool's signed response reached the platform, which verified it and made an activity with a column.
    wait_shown(page, "tool", tool.get_by_test_id("dl-result"))
    assert tool.get_by_test_id("dl-result").inner_text() == "Added 1 activity: Water cycle"
    quiz = Quiz.objects.get(title="Water cycle")
    activity = page.get_by_test_id("activity")
    activity.wait_for()
    assert activity.get_attribute("data-activity") == f"quiz:{quiz.pk}"
    link = deep_linking_log(canvas).links[0]
    assert gradebook(canvas).item_by_url(link["lineitem_url"])["label"] == "Water cycle"

    page.get_by_test_id("launch-person").select_option(label="Maya Chen — Student")
    page.get_by_test_id("launch-activity").click()
    tool = page.frame_locator("#tool")
    wait_shown(page, "tool", tool.get_by_test_id("start"))  # the custom activity param led to the quiz
    tool.get_by_test_id("start").click()
    boxes = tool.get_by_test_id("attempt-question")
    boxes.first.wait_for()
    for index in range(boxes.count()):
        box = boxes.nth(index)
        question = Question.objects.get(pk=box.get_attribute("data-question"))
        box.locator("input").nth(question.correct[0]).check()
    tool.get_by_test_id("submit").click()
    assert tool.get_by_test_id("score").inner_text() == "3 / 3"

    # Posted through AGS to the line item the launch carried; the page's gradebook follows without a reload.
    cell = page.locator('[data-testid="cell"][data-user="canvas-maya"][data-progress="FullyGraded"]')
    cell.wait_for()
    assert cell.get_by_test_id("score").inner_text() == "3 / 3"
    assert gradebook(canvas).result(link["lineitem_url"], "canvas-maya")["resultScore"] == 3


def test_the_page_says_the_tool_is_down_instead_of_launching(page, closed_port):
    from lms_tool.sandbox.embedded import SandboxServer

    server = SandboxServer(tool_url=f"http://127.0.0.1:{closed_port}").start()
    try:
        page.goto(server.url)
        page.get_by_test_id("launch").click()

        alert = page.get_by_role("alert")
        assert "The tool cannot be launched." in alert.inner_text()
        assert f"Nothing answers at http://127.0.0.1:{closed_port}" in alert.inner_text()
        assert page.locator("#tool").count() == 0
        page.get_by_test_id("launch-person").wait_for()  # the page still works: try again once the tool is up
    finally:
        server.stop()
