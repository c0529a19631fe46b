"""The course's retention view: the week-by-week history checked by hand, the page's chart, tables and empty state."""

from __future__ import annotations

import math
import re

import pytest
from django.utils import timezone
from fsrs.scheduler import DEFAULT_PARAMETERS

from lms_tool.analytics import retention_selectors
from lms_tool.flashcards import selectors as flashcard_selectors
from lms_tool.flashcards.models import Card, Deck

from .test_risk import INSTRUCTOR, LEARNER, course_make, get_as, member, review_make

pytestmark = pytest.mark.django_db

DECAY = -DEFAULT_PARAMETERS[20]
FACTOR = 0.9 ** (1 / DECAY) - 1


def recall(days: float, stability: float) -> float:
    """fsrs's forgetting curve on whole days (lms_tool/flashcards/retention.py)."""
    return (1 + FACTOR * math.floor(days) / stability) ** DECAY


@pytest.fixture
def course(db):  # type: ignore[no-untyped-def]
    course = course_make("https://canvas.example.edu", "bio-201", "Cell Biology")
    teacher = member(course, "t-1", "Tess Teacher", INSTRUCTOR)
    ann = member(course, "s-ann", "Ann Learner", LEARNER)
    deck = Deck.objects.create(context=course, title="Cells", status="published")
    osmosis = Card.objects.create(deck=deck, front="Water across a membrane is?", tags=["osmosis"], status="approved")
    mitosis = Card.objects.create(deck=deck, front="Cell division is?", tags=["mitosis"], status="approved")
    # Half-day offsets keep every elapsed time clear of a day boundary.
    review_make(osmosis, ann.user, days_ago=30.5, stability=2)
    review_make(osmosis, ann.user, days_ago=10.5, stability=3)
    review_make(mitosis, ann.user, days_ago=20.5, stability=40)
    return course, teacher, ann


def test_the_history_is_each_weeks_memories_as_their_last_review_left_them(course):
    context, _, _ = course
    now = timezone.now()

    history = retention_selectors.retention_history(context=context, now=now, weeks=6)

    # Week ends 0, 7, 14, 21, 28 days ago have memories; 35 days ago, before any review, is left out.
    assert [round((now - p.at).days) for p in history] == [28, 21, 14, 7, 0]
    expected = {
        28: [recall(2.5, 2)],  # only osmosis, reviewed 30.5 days ago
        21: [recall(9.5, 2)],
        14: [recall(16.5, 2), recall(6.5, 40)],
        7: [recall(3.5, 3), recall(13.5, 40)],
        0: [recall(10.5, 3), recall(20.5, 40)],
    }
    for point in history:
        values = expected[(now - point.at).days]
        assert point.memories == len(values)
        assert point.recall == pytest.approx(sum(values) / len(values), abs=1e-9)
    # Now agrees with the flashcards' own per-concept figures (the states' last reviews).
    concepts = {r.label: r.now for r in flashcard_selectors.concept_retention(context=context, now=now)}
    assert history[-1].recall == pytest.approx((concepts["osmosis"] + concepts["mitosis"]) / 2, abs=1e-9)


def test_the_page_has_a_chart_with_its_table_the_most_forgotten_concept_with_its_cards_and_each_learner(course):
    _, teacher, ann = course

    page = get_as(teacher, "/analytics/retention/")

    html = page.content.decode()
    assert page.status_code == 200
    svg = html.split('data-testid="retention-chart"')[1].split("</svg>")[0]
    assert "<title" in svg and len(re.findall(r"<circle ", svg)) == 5
    assert html.split('data-testid="retention-history"')[1].split("</table>")[0].count("<tr>") == 6  # head + 5
    forgotten = html.split('data-testid="retention-forgotten"')[1].split("</ol>")[0]
    # Osmosis has faded (reviewed 10 days ago, stability 3); mitosis, above 90% with no lapse, is not forgotten.
    assert 'data-concept="osmosis"' in forgotten and 'data-concept="mitosis"' not in forgotten
    assert "Water across a membrane is?" in forgotten
    learners = html.split('data-testid="retention-learners"')[1].split("</table>")[0]
    assert "Ann Learner" in learners and f"/analytics/risk/learners/{ann.user_id}/" in learners
    concepts = html.split('data-testid="retention-concepts"')[1].split("</table>")[0]
    assert concepts.index("osmosis") < concepts.index("mitosis")


def test_a_course_without_reviews_says_what_will_appear(db):
    context = course_make("https://canvas.example.edu", "empty-1", "Empty course")
    teacher = member(context, "t-1", "Tess Teacher", INSTRUCTOR)

    html = get_as(teacher, "/analytics/retention/").content.decode()

    assert 'data-testid="retention-empty"' in html and "Once learners study a published deck" in html
    assert "<svg" not in html
