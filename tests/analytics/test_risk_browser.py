"""An instructor finds the learner who stopped coming, then reads the retention view, in a real browser: by keyboard,\non a phone, axe-clean."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.flashcards.models import Card, Deck
from lms_tool.lti.models import Membership
from lms_tool.quizzes.models import Quiz
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from ..flashcards.conftest import enter
from .test_risk import review_make

pytestmark = pytest.mark.e2e


def test_from_the_at_risk_list_to_the_learners_page_by_keyboard_on_a_phone(
    canvas, course, instructor, student, tool_url, page
):  # type: ignore[no-untyped-def]
    sam = enter(canvas, LaunchSpec(student, course), tool_url)
    ada = enter(canvas, LaunchSpec(instructor, course), tool_url)
    # Sam opened the tool once, three weeks ago, and never started the quiz published then.
    weeks_ago = timezone.now() - timedelta(days=21)
    Membership.objects.filter(pk=sam.launch.membership_pk).update(created_at=weeks_ago, last_launch_at=weeks_ago)
    Quiz.objects.create(context=ada.context, title="Week 1: Cells", status="published", published_at=weeks_ago)
    deck = Deck.objects.create(context=ada.context, title="Cells", status="published", published_at=weeks_ago)
    card = Card.objects.create(deck=deck, front="Osmosis moves?", back="Water", tags=["osmosis"], status="approved")
    review_make(card, sam.user, days_ago=21.5, stability=3)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(ada.url("/analytics/risk/"))

    row = page.get_by_test_id("risk-row")
    assert row.count() == 1
    assert "No activity for 21 days" in row.inner_text() and "Week 1: Cells" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    axe_check(page, what="the list of learners who need help")

    link = row.get_by_role("link", name="Sam Student")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/analytics/risk/learners/**")

    assert page.get_by_test_id("learner-risk").get_attribute("data-at-risk") == "true"
    assert page.get_by_role("heading", level=1).inner_text() == "Sam Student"
    assert page.get_by_test_id("learner-quizzes").locator("tbody tr").count() == 1
    axe_check(page, what="a learner's page")

    page.goto(ada.url("/analytics/retention/"))
    assert page.get_by_test_id("retention-chart").is_visible()
    assert page.get_by_test_id("retention-forgotten").inner_text().startswith("osmosis")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    axe_check(page, what="the course's retention view")
