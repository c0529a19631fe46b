"""In a real browser: a shuffled attempt keeps its order across reloads, answers show only once released, and one
question per page keeps what was typed when moving between pages (docs/assessment.md, "Integrity settings")."""

from __future__ import annotations

import pytest

from lms_tool.quizzes import selectors
from lms_tool.quizzes.models import Answer, Attempt
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from .factories import make_quiz
from .flow import seat
from .test_integrity import integrity

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager")]

# Every answer kept on this device has been acknowledged by the server (templates/quizzes/attempt.html). Waiting
# for it before the next request keeps two writes from meeting on the test's in-memory SQLite, which refuses the
# second (PostgreSQL makes it wait).
SETTLED = "() => !Object.keys(localStorage).some(k => k.startsWith('quiz-draft:'))"
ORDER = """els => els.map(e => e.dataset.question + ':' +
  Array.from(e.querySelectorAll('input[name^=q]:not([type=hidden])')).map(i => i.value).join(','))"""


def test_a_shuffled_attempt_keeps_its_order_on_reload_and_answers_show_once_released(
    page, canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = integrity(
        make_quiz(teacher, count=4, types=["single", "multiple"]),
        shuffle_questions=True,
        shuffle_options=True,
        show_answers="never",
    )
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/manage/?launch={teacher.launch_id}")
    page.get_by_text("Settings", exact=True).click()
    assert page.get_by_label("Shuffle the options of choice questions").is_checked()
    assert page.get_by_label("Show correct answers and explanations").input_value() == "never"
    axe_check(page, what="the quiz's settings with the integrity fieldset")
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/?launch={learner.launch_id}")
    page.get_by_test_id("start").click()
    page.locator('[data-view="attempt"]').wait_for()
    rows = selectors.attempt_seen(attempt=Attempt.objects.get(quiz=quiz))
    recorded = [f"{r.question_id}:{','.join(str(i) for i in r.option_order)}" for r in rows]

    shown = page.eval_on_selector_all("fieldset[data-question]", ORDER)
    first = rows[0].question
    for index in first.correct:
        page.locator(f'input[name="q{first.pk}"][value="{index}"]').check()
    page.get_by_test_id("save-status").filter(has_text="Saved.").wait_for()
    page.reload()
    page.locator('[data-view="attempt"]').wait_for()

    assert shown == recorded, "the page shows the order recorded on the attempt"
    assert page.eval_on_selector_all("fieldset[data-question]", ORDER) == shown, "and the same after a reload"
    checked = page.locator(f'fieldset[data-question="{first.pk}"] input:checked')
    assert sorted(int(v) for v in checked.evaluate_all("els => els.map(e => e.value)")) == sorted(first.correct)
    axe_check(page, what="a shuffled attempt")
    for row in rows[1:]:
        for index in row.question.correct:
            page.locator(f'input[name="q{row.question_id}"][value="{index}"]').check()
    page.wait_for_function(SETTLED)
    page.get_by_test_id("submit").click()

    page.locator('[data-view="result"]').wait_for()
    assert page.get_by_test_id("score").inner_text() == "4 / 4", "graded by option, not by place"
    assert page.get_by_test_id("answers-held").is_visible()
    assert page.get_by_test_id("correct-answer").count() == 0 and page.get_by_test_id("explanation").count() == 0
    axe_check(page, what="a result with the answers held back")
    integrity(quiz, show_answers="after_submit")
    page.reload()
    assert page.get_by_test_id("explanation").count() == 4
    assert page.get_by_test_id("answers-held").count() == 0


def test_one_question_per_page_keeps_typed_answers_when_moving_between_pages(
    page, canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = integrity(make_quiz(teacher, count=3, types=["short"]), one_per_page=True)
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/?launch={learner.launch_id}")
    page.get_by_test_id("start").click()
    page.locator('[data-view="attempt"]').wait_for()
    attempt = Attempt.objects.get(quiz=quiz)
    one, two, three = attempt.question_ids
    # No autosave reaches the server: what is saved, the moves between pages saved.
    page.route("**/answer/", lambda route: route.abort())

    page.locator(f"#q{one}").fill("blood")
    page.get_by_test_id("next").click()
    page.get_by_text("Question 2 of 3").wait_for()
    page.locator(f"#q{two}").fill("atria")
    page.get_by_test_id("prev").focus()
    page.keyboard.press("Enter")  # by keyboard
    page.get_by_text("Question 1 of 3").wait_for()

    assert page.locator(f"#q{one}").input_value() == "blood"
    assert page.get_by_role("button", name="Question 2, answered").is_visible()
    axe_check(page, what="an attempt with one question per page")
    page.get_by_role("button", name="Question 3").click()
    page.get_by_text("Question 3 of 3").wait_for()
    page.locator(f"#q{three}").fill("valve")
    page.get_by_test_id("prev").click()
    page.get_by_text("Question 2 of 3").wait_for()

    assert page.locator(f"#q{two}").input_value() == "atria"
    given = dict(Answer.objects.filter(attempt=attempt).values_list("question_id", "response"))
    assert given == {one: "blood", two: "atria", three: "valve"}
