"""The review session in a real browser: inside a cross-site iframe, by keyboard, and on a phone."""

from __future__ import annotations

import pytest

from lms_tool.flashcards.models import Card, CardState, ReviewLog
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from .conftest import enter
from .factories import CardFactory, DeckFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def session(platform_server, canvas, course, student, tool_url):  # type: ignore[no-untyped-def]
    sam = enter(canvas, LaunchSpec(student, course), tool_url)
    deck = DeckFactory(context=sam.context, title="Cells")
    CardFactory(deck=deck, front="What does **ATP** stand for?", back="Adenosine *triphosphate*")
    CardFactory(deck=deck, front="The {{c1::mitochondrion::organelle}} makes ATP.", back="", kind="cloze")
    CardFactory(deck=deck, front="Third card", back="Third answer")
    return deck, sam


def test_a_learner_reviews_by_keyboard_inside_a_cross_site_iframe(session, page, canvas):
    deck, sam = session
    src = sam.url(f"/flashcards/decks/{deck.pk}/review/")
    # The page is on the platform's origin (127.0.0.1, the tool is on localhost): the tool is a third party
    # in the frame, as inside an LMS, and the platform's origin is one the tool lets frame it.
    page.goto(f"{canvas.base_url}/jwks")
    page.set_content(f'<iframe src="{src}" title="Flashcards" style="width:420px;height:760px"></iframe>')
    frame = page.frame_locator("iframe")

    frame.get_by_role("heading", name="Cells").click()  # focus inside the frame, then keys only
    assert frame.locator("[data-testid=front] strong").inner_text() == "ATP"
    assert not frame.locator("#answer").is_visible()
    page.keyboard.press(" ")
    assert frame.get_by_test_id("back").inner_text() == "Adenosine triphosphate"
    assert frame.get_by_test_id("interval-again").inner_text() == "1m"
    assert frame.get_by_test_id("interval-good").inner_text() == "10m"
    page.keyboard.press("3")

    assert frame.locator("[data-testid=front] .cloze").inner_text() == "[organelle]"
    page.keyboard.press("Enter")
    assert frame.locator("mark.cloze").inner_text() == "mitochondrion"
    page.keyboard.press("1")
    frame.get_by_text("Third card").wait_for()

    logs = list(ReviewLog.objects.filter(learner=sam.user).order_by("id"))
    assert [log.rating for log in logs] == [3, 1]
    assert all(log.duration_ms and log.duration_ms > 0 for log in logs)


def test_a_double_click_on_a_rating_records_one_rating(session, page):
    deck, sam = session
    page.goto(sam.url(f"/flashcards/decks/{deck.pk}/review/"))
    page.get_by_role("button", name="Show answer").click()
    axe_check(page, what="the flashcard review page, answer shown")

    page.get_by_test_id("rate-easy").dblclick()
    page.locator("[data-testid=front] .cloze").wait_for()  # the next card
    page.wait_for_load_state("networkidle")

    assert ReviewLog.objects.filter(learner=sam.user).count() == 1
    assert CardState.objects.get(learner=sam.user).reps == 1


def test_it_fits_a_phone_and_works_by_touch(session, browser, tmp_path):
    deck, sam = session
    phone = browser.new_context(
        viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        page = phone.new_page()
        page.goto(sam.url(f"/flashcards/decks/{deck.pk}/review/"))
        page.get_by_role("button", name="Show answer").tap()
        good = page.get_by_test_id("rate-good")
        box = good.bounding_box()

        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)  # for a look when it fails
        good.tap()
        page.locator("[data-testid=front] .cloze").wait_for()
        assert ReviewLog.objects.filter(learner=sam.user, rating=3).count() == 1
    finally:
        phone.close()


def test_the_learners_other_pages_pass_axe(session, page):
    """The progress page and the deck's "done for today" page: no serious or critical accessibility violation."""
    deck, sam = session
    page.goto(sam.url("/flashcards/progress/"))
    axe_check(page, what="the learner's progress page")
    Card.objects.filter(deck=deck).update(status=Card.Status.PROPOSED)  # nothing left to study today
    page.goto(sam.url(f"/flashcards/decks/{deck.pk}/review/"))
    axe_check(page, what="the deck's review page with nothing due")
