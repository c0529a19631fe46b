"""In a real browser (Playwright + Debian chromium): an instructor finds their way and nothing surprises them.

Pages are opened with the launch id of a real launch from the test platform (the sandbox's platform library),
as the platform's iframe opens them; a deep-linking response goes back to that platform, which verifies it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.flashcards.models import Card, Deck
from lms_tool.quizzes.models import GenerationRun, Question, Quiz
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from ..browser import axe_check, wait_shown
from ..quizzes.factories import course_text
from ..quizzes.flow import Seat, seat

pytestmark = pytest.mark.e2e


@pytest.fixture
def eager() -> Iterator[None]:
    """Generation runs in the live server's thread once its transaction commits."""
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _offline_ai(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False


def _picking(canvas, course, instructor) -> Seat:  # type: ignore[no-untyped-def]
    return seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))


def _draft(teacher: Seat, title: str = "Heart draft") -> Quiz:
    quiz = Quiz.objects.create(context=teacher.context, created_by=teacher.instructor, title=title, source_text="x")
    Question.objects.create(
        quiz=quiz, position=1, type="true_false", prompt="The heart has four chambers.", options=["True", "False"]
    )
    return quiz


def test_an_instructor_finds_a_draft_again_from_the_course_home_and_the_picker(
    page, canvas, course, instructor, tool_url
):
    plain = seat(canvas, LaunchSpec(instructor, course))
    quiz = _draft(plain)

    page.goto(plain.landing)  # a plain launch of staff lands on the course home
    page.locator('[data-view="instructor"]').wait_for()
    page.get_by_role("link", name="Heart draft").click()
    page.locator('[data-view="quiz-manage"]').wait_for()
    assert page.get_by_test_id("quiz-status").inner_text() == "Draft"

    picking = _picking(canvas, course, instructor)
    page.goto(f"{tool_url}/quizzes/pick/?launch={picking.launch_id}")
    drafts = page.get_by_test_id("drafts")
    assert "Heart draft" in drafts.inner_text() and page.get_by_test_id("pick-item").count() == 0
    drafts.get_by_role("link", name="Heart draft").click()
    assert "and add to course" in page.get_by_test_id("publish").inner_text()
    assert page.url.split("?")[0].endswith(f"/quizzes/{quiz.pk}/manage/")


def test_publish_and_add_to_course_ends_with_the_activity_on_the_platform(
    page, canvas, course, instructor, tool_url, eager
):
    teacher = _picking(canvas, course, instructor)
    page.goto(f"{tool_url}/quizzes/pick/?launch={teacher.launch_id}")
    page.get_by_test_id("new-quiz").click()
    page.get_by_label("Title").fill("Water cycle")
    page.get_by_label("Course text").fill(course_text("water_cycle.md"))
    page.get_by_label("Number of questions").fill("3")
    page.get_by_label("Short answer").uncheck()
    page.get_by_test_id("create").click()
    page.get_by_test_id("approve-all").click()

    page.get_by_test_id("publish").click()  # one step: published, signed, posted back to the platform
    page.wait_for_url(f"{canvas.base_url}/**")

    quiz = Quiz.objects.get(title="Water cycle")
    log = deep_linking_log(canvas)
    assert quiz.is_published and log.refused == []
    assert [item["custom"]["activity"] for item in log.responses[0]["items"]] == [f"quiz:{quiz.pk}"]
    assert log.links and log.links[0]["title"] == "Water cycle"


def test_an_instructor_writes_a_question_by_hand(page, canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = Quiz.objects.create(
        context=teacher.context, created_by=teacher.instructor, title="Hand made", source_text=""
    )
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/manage/?launch={teacher.launch_id}")

    page.get_by_test_id("write-question").click()
    page.get_by_label("Question type").select_option("single")
    page.get_by_label("Question", exact=True).fill("Which chamber pumps blood to the body?")
    page.get_by_label("Options (one per line)").fill("Left ventricle\nRight atrium\nLeft atrium")
    page.get_by_label("Correct option number(s)").fill("1")
    page.get_by_test_id("save-question").click()

    page.locator('[data-view="quiz-manage"]').wait_for()
    question = Question.objects.get(quiz=quiz)
    assert (question.type, question.correct, question.status) == ("single", [0], "approved")
    assert page.get_by_test_id("question").count() == 1
    page.get_by_test_id("publish").click()
    assert page.get_by_test_id("quiz-status").inner_text() == "Published"


def test_a_written_question_without_an_answer_is_refused_with_the_field_named(
    page, canvas, course, instructor, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = Quiz.objects.create(
        context=teacher.context, created_by=teacher.instructor, title="Hand made", source_text=""
    )
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/questions/new/?launch={teacher.launch_id}")

    page.get_by_label("Question type").select_option("numeric")
    page.get_by_label("Question", exact=True).fill("How many chambers has the heart?")
    page.get_by_test_id("save-question").click()

    assert "Give the answer." in page.locator(".errorlist").first.inner_text()
    assert Question.objects.filter(quiz=quiz).count() == 0


def test_publishing_during_generation_stays_on_the_quiz_with_a_way_back(page, canvas, course, instructor, tool_url):
    teacher = _picking(canvas, course, instructor)
    quiz = Quiz.objects.create(context=teacher.context, created_by=teacher.instructor, title="Busy", source_text="x")
    GenerationRun.objects.create(quiz=quiz, count=3, types=["single"])  # queued, not run: still being written
    page.goto(f"{tool_url}/quizzes/{quiz.pk}/manage/?launch={teacher.launch_id}")

    page.get_by_test_id("publish").click()

    error = page.get_by_test_id("form-error")
    assert "still being written" in error.inner_text() and "Generate or write some first" not in error.inner_text()
    assert page.get_by_test_id("staff-nav").is_visible()
    page.get_by_test_id("nav-pick").click()  # the way back to adding an activity
    page.locator('[data-view="pick"]').wait_for()
    assert not Quiz.objects.get(pk=quiz.pk).is_published


def test_a_new_deck_from_the_picker_is_published_and_added_in_one_step(page, canvas, course, instructor, tool_url):
    teacher = _picking(canvas, course, instructor)
    page.goto(f"{tool_url}/quizzes/pick/?launch={teacher.launch_id}")

    page.get_by_test_id("new-deck").click()
    page.get_by_label("Title").fill("Cells")
    page.get_by_test_id("create-deck").click()
    deck = Deck.objects.get(title="Cells")
    page.get_by_label("Front").fill("What do mitochondria produce?")
    page.get_by_label("Back").fill("ATP")
    page.get_by_role("button", name="Add card").click()
    Card.objects.create(deck=deck, front="Proposed one", back="?", status=Card.Status.PROPOSED)
    page.reload()

    # The button itself says what publishing now leaves out.
    publish = page.get_by_test_id("publish")
    assert publish.inner_text() == "Publish without the 1 proposed card and add to course"
    publish.click()
    page.wait_for_url(f"{canvas.base_url}/**")

    items = deep_linking_log(canvas).responses[0]["items"]
    assert [item["custom"]["activity"] for item in items] == [f"deck:{deck.pk}"]
    assert Deck.objects.get(pk=deck.pk).is_published


def test_every_staff_page_has_the_same_navigation_with_the_review_count(page, canvas, course, instructor, tool_url):
    teacher = _picking(canvas, course, instructor)
    quiz = _draft(teacher)
    deck = Deck.objects.create(context=teacher.context, title="Cells")
    lid = teacher.launch_id
    pages = [
        f"/lti/course/?launch={lid}",
        f"/quizzes/pick/?launch={lid}",
        f"/quizzes/new/?launch={lid}",
        f"/quizzes/{quiz.pk}/manage/?launch={lid}",
        f"/quizzes/{quiz.pk}/questions/new/?launch={lid}",
        f"/quizzes/review/?launch={lid}",
        f"/flashcards/decks/?launch={lid}",
        f"/flashcards/decks/{deck.pk}/?launch={lid}",
        f"/flashcards/decks/{deck.pk}/analytics?launch={lid}",
        f"/flashcards/analytics/?launch={lid}",
        f"/roster/?launch={lid}",
    ]
    for path in pages:
        page.goto(tool_url + path)
        nav = page.get_by_test_id("staff-nav")
        assert nav.is_visible(), path
        labels = [nav.get_by_test_id(f"nav-{key}").count() for key in ("home", "pick", "review", "roster")]
        assert labels == [1, 1, 1, 1], (path, labels)
        assert page.get_by_test_id("nav-review-count").inner_text() == "(0)", path
        axe_check(page, what=path)  # every staff page: no serious or critical accessibility violation

    page.get_by_test_id("nav-home").click()
    sections = page.get_by_test_id("home-section")
    assert sections.count() == 2
    assert "Heart draft" in page.inner_text("main") and "Cells" in page.inner_text("main")


def test_the_instructor_chooses_the_deck_grading_rule_and_the_picker_says_how_it_is_graded(
    page, canvas, course, instructor, tool_url
):
    teacher = _picking(canvas, course, instructor)
    deck = Deck.objects.create(context=teacher.context, title="Cells")
    Card.objects.create(deck=deck, front="What do mitochondria produce?", back="ATP", status=Card.Status.APPROVED)
    page.goto(f"{tool_url}/flashcards/decks/{deck.pk}/?launch={teacher.launch_id}")
    assert "studied at least once" in page.get_by_test_id("grading-rule").inner_text()  # the default: completion

    page.locator("#id_grading_rule").select_option(Deck.GradingRule.RECALL)
    page.locator("#id_grading_threshold").fill("0.85")
    page.get_by_role("button", name="Save settings").click()
    rule = page.get_by_test_id("grading-rule")
    wait_shown(page, "", rule)
    assert "recall today with a probability of at least 85%" in rule.inner_text()
    saved = Deck.objects.get(pk=deck.pk)
    assert (saved.grading_rule, saved.grading_threshold) == (Deck.GradingRule.RECALL, 0.85)
    assert saved.desired_retention != 0.85  # the grading threshold is not the scheduler's setting

    page.locator("#id_grading_rule").select_option(Deck.GradingRule.NONE)
    page.get_by_role("button", name="Save settings").click()
    page.get_by_test_id("publish").click()
    page.wait_for_url(f"{canvas.base_url}/**")
    items = deep_linking_log(canvas).responses[0]["items"]
    assert [item["custom"]["activity"] for item in items] == [f"deck:{deck.pk}"]
    assert "lineItem" not in items[0]  # not graded: no gradebook column
