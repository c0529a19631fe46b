"""Students never lose work: an ended launch, a dropped connection, Back after a submit, a time limit.

The tool's pages run in an iframe of a platform page on another site (the sandbox platform's origin), as
inside an LMS; that page listens for the tool's ``lti.frameResize`` messages (LTI Client Side
postMessages). A launch ends by deleting it from the shared cache, not by waiting for its idle time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from lms_tool.flashcards.models import ReviewLog
from lms_tool.lti import services as lti_services
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from ..flashcards.conftest import enter
from ..flashcards.factories import CardFactory, DeckFactory
from ..quizzes.factories import course_text
from ..quizzes.flow import seat

pytestmark = pytest.mark.e2e

ALL_TYPES = ["single", "multiple", "true_false", "numeric", "short", "free_text"]
PLATFORM_PAGE = """<!doctype html><title>Course</title>
<script>
  window.resizes = [];
  window.addEventListener("message", function (e) {
    if (e.data && e.data.subject === "lti.frameResize") window.resizes.push(e.data.height);
  });
</script>
<iframe name="tool" src="{src}" title="Quiz" style="width:380px;height:650px;border:0"></iframe>"""
DRAFTS = "() => Object.keys(localStorage).filter(k => k.startsWith('quiz-draft:') || k.startsWith('flashcard-rating:'))"


@pytest.fixture(autouse=True)
def _offline_services(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False


@pytest.fixture(autouse=True)
def _eager() -> Iterator[None]:
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def launch_end(launch_id: str) -> None:
    cache.delete(lti_services._launch_keys(launch_id)[0])


def in_platform(page: Any, platform: Any, src: str) -> Any:
    page.goto(f"{platform.base_url}/jwks")
    page.set_content(PLATFORM_PAGE.replace("{src}", src))
    return page.frame_locator("iframe[name=tool]")


def tool_frame(page: Any) -> Any:
    return page.frame(name="tool")


@pytest.fixture
def quiz(canvas, course, instructor) -> Quiz:  # type: ignore[no-untyped-def]
    teacher = seat(canvas, LaunchSpec(instructor, course))
    made, run = services.quiz_create(
        context=teacher.context, user=teacher.instructor, title="Heart", text=course_text(), count=6, types=ALL_TYPES
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=made, user=teacher.instructor)
    services.quiz_publish(quiz=made, user=teacher.instructor)
    made.refresh_from_db()
    return made


def start(page: Any, canvas: Any, student: Any, course: Any, quiz: Quiz, tool_url: str) -> tuple[Any, str]:
    """A fresh launch of the student, the quiz in the platform's frame, the attempt started (or resumed)."""
    sam = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    frame = in_platform(page, canvas, f"{tool_url}/quizzes/{quiz.pk}/take/?launch={sam.launch_id}")
    frame.get_by_test_id("start").click()
    frame.locator('[data-view="attempt"]').wait_for()
    return frame, sam.launch_id


def box(frame: Any, question: Question) -> Any:
    return frame.locator(f'fieldset[data-question="{question.pk}"]')


def test_every_answer_type_survives_an_ended_launch_and_a_relaunch_to_the_character(
    page, canvas, course, student, quiz, tool_url
):
    frame, launch_id = start(page, canvas, student, course, quiz, tool_url)
    attempt = Attempt.objects.get(quiz=quiz)
    by_type = {q.type: q for q in Question.objects.filter(pk__in=attempt.question_ids)}
    assert set(by_type) == set(ALL_TYPES)
    box(frame, by_type["single"]).locator("input").nth(1).check()
    box(frame, by_type["short"]).locator("input[type=text]").press_sequentially("mitral")
    frame.get_by_test_id("save-status").filter(has_text="Saved.").wait_for()
    assert Answer.objects.get(attempt=attempt, question=by_type["short"]).response == "mitral"

    launch_end(launch_id)  # idle past LTI_LAUNCH_IDLE_SECONDS
    free = "The ventricles contract — blood leaves by the aorta ✓ (and the “pulmonary” artery)."
    box(frame, by_type["short"]).locator("input[type=text]").press_sequentially(" valve")
    box(frame, by_type["multiple"]).locator("input[type=checkbox]").nth(0).check()
    box(frame, by_type["multiple"]).locator("input[type=checkbox]").nth(2).check()
    box(frame, by_type["true_false"]).locator("input").nth(0).check()
    box(frame, by_type["numeric"]).locator("input[type=text]").fill("3,75")
    box(frame, by_type["free_text"]).locator("textarea").fill(free)
    notice = frame.get_by_test_id("notice")
    notice.filter(has_text="Your session with this tool has ended").wait_for()
    assert "kept on this device" in notice.inner_text() and "{" not in notice.inner_text()
    frame.get_by_test_id("submit").click()
    notice.filter(has_text="could not be submitted").wait_for()
    assert Attempt.objects.get(pk=attempt.pk).is_open
    assert len(tool_frame(page).evaluate(DRAFTS)) >= 5  # everything typed since the launch ended

    frame, _ = start(page, canvas, student, course, quiz, tool_url)  # opened again from the course
    frame.get_by_test_id("save-status").filter(has_text="Saved.").wait_for()
    assert box(frame, by_type["short"]).locator("input[type=text]").input_value() == "mitral valve"
    assert tool_frame(page).evaluate(DRAFTS) == []  # the server has them all: nothing kept any more
    saved = {a.question.type: a.response for a in Answer.objects.filter(attempt=attempt).select_related("question")}
    assert saved == {
        "single": [1],
        "multiple": [0, 2],
        "true_false": [0],
        "numeric": 3.75,
        "short": "mitral valve",
        "free_text": free,
    }
    assert max(page.evaluate("window.resizes")) > 650  # the frame was asked to fit the whole quiz

    frame.get_by_test_id("submit").click()
    frame.locator('[data-view="result"]').wait_for()
    assert Attempt.objects.filter(pk=attempt.pk, state=Attempt.State.SUBMITTED).count() == 1
    axe_check(tool_frame(page), what="the student's result page")
    assert Answer.objects.get(attempt=attempt, question=by_type["free_text"]).response == free

    tool_frame(page).evaluate("window.seen = true")
    page.evaluate("history.back()")  # Back after the submit (the frame goes back): never an editable attempt
    tool_frame(page).wait_for_function("() => !window.seen && document.readyState === 'complete'")
    frame.locator('[data-view="result"], form[data-readonly="true"]').first.wait_for()
    assert frame.locator("textarea:not([disabled])").count() == 0


def test_thirty_seconds_offline_on_a_phone_loses_no_character(
    browser, canvas, course, student, quiz, tool_url, live_server
):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.set_default_timeout(15_000)
    try:
        page = phone.new_page()
        page.clock.install()
        frame, _ = start(page, canvas, student, course, quiz, tool_url)
        attempt = Attempt.objects.get(quiz=quiz)
        short = Question.objects.get(pk__in=attempt.question_ids, type="short")
        field = box(frame, short).locator("input[type=text]")
        field.press_sequentially("left")

        phone.set_offline(True)
        field.press_sequentially(" atrium")
        page.clock.fast_forward("00:30")  # half a minute of retries without a connection
        status = frame.get_by_test_id("save-status")
        status.filter(has_text="Not saved yet — kept on this device").wait_for()
        assert tool_frame(page).evaluate(DRAFTS) == [f"quiz-draft:{attempt.pk}:{short.pk}"]

        phone.set_offline(False)
        page.clock.fast_forward("00:31")  # the next try, should the "online" event not have sent it already
        status.filter(has_text="Saved.").wait_for()
        assert Answer.objects.get(attempt=attempt, question=short).response == "left atrium"
        assert tool_frame(page).evaluate(DRAFTS) == []
    finally:
        phone.close()


def test_a_time_limit_warns_before_the_end_and_says_times_up_after(page, canvas, course, student, quiz, tool_url):
    Quiz.objects.filter(pk=quiz.pk).update(time_limit_minutes=1)
    sam = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    page.clock.install()
    frame = in_platform(page, canvas, f"{tool_url}/quizzes/{quiz.pk}/take/?launch={sam.launch_id}")
    assert frame.get_by_test_id("time-limit").inner_text() == "1 minute"
    axe_check(tool_frame(page), what="the quiz's start page")
    frame.get_by_test_id("start").click()
    frame.locator('[data-view="attempt"]').wait_for()
    alert = frame.get_by_test_id("timer-alert")

    page.clock.fast_forward("00:02")
    assert alert.inner_text() == "1 minute left." and alert.get_attribute("aria-live") == "assertive"
    page.clock.fast_forward("01:00")

    frame.get_by_test_id("time-up").wait_for()
    assert frame.get_by_test_id("time-up").inner_text() == "Time's up — your answers were submitted."
    axe_check(tool_frame(page), what="the time's-up result page")
    assert Attempt.objects.filter(quiz=quiz, state=Attempt.State.SUBMITTED).count() == 1


def test_a_flashcard_rating_made_after_the_launch_ended_is_sent_once_after_a_relaunch(
    page, canvas, course, student, tool_url
):
    sam = enter(canvas, LaunchSpec(student, course), tool_url)
    deck = DeckFactory(context=sam.context, title="Cells")
    CardFactory(deck=deck, front="First card", back="First answer")
    CardFactory(deck=deck, front="Second card", back="Second answer")
    frame = in_platform(page, canvas, sam.url(f"/flashcards/decks/{deck.pk}/review/"))
    frame.get_by_role("button", name="Show answer").click()

    launch_end(sam.launch_id)
    frame.get_by_test_id("rate-good").click()
    notice = frame.get_by_test_id("rate-notice")
    notice.filter(has_text="Your session with this tool has ended").wait_for()
    assert "kept on this device" in notice.inner_text()
    assert ReviewLog.objects.count() == 0
    assert len(tool_frame(page).evaluate(DRAFTS)) == 1

    again = enter(canvas, LaunchSpec(student, course), tool_url)  # opened again from the course
    frame = in_platform(page, canvas, again.url(f"/flashcards/decks/{deck.pk}/review/"))
    frame.get_by_text("Second card").wait_for()
    frame.get_by_role("button", name="Show answer").wait_for()
    assert tool_frame(page).evaluate(DRAFTS) == []
    assert list(ReviewLog.objects.values_list("card__front", "rating")) == [("First card", 3)]
    frame = in_platform(page, canvas, again.url(f"/flashcards/decks/{deck.pk}/review/"))  # and once more
    frame.get_by_text("Second card").wait_for()
    assert ReviewLog.objects.count() == 1
