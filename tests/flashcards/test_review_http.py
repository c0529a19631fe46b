"""The review session over real HTTP after a real launch: one rating per shown card, only one's own cards."""

from __future__ import annotations

import re

import pytest

from lms_tool.flashcards.models import CardState, ReviewLog
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person

from .conftest import enter, field
from .factories import CardFactory, DeckFactory

REVIEW = "/flashcards/decks/{}/review/"
RATE = "/flashcards/decks/{}/review/rate"


@pytest.fixture
def deck_and_learner(platform, course, student, tool_url):  # type: ignore[no-untyped-def]
    sam = enter(platform, LaunchSpec(student, course), tool_url)
    deck = DeckFactory(context=sam.context, title="Cells")
    for front in ("What is ATP?", "What is a ribosome?", "What does mitosis produce?"):
        CardFactory(deck=deck, front=front, back="**answer**")
    return deck, sam


def test_a_learner_sees_a_card_rates_it_and_gets_the_next(deck_and_learner):
    deck, sam = deck_and_learner

    page = sam.get(REVIEW.format(deck.pk))

    assert page.status_code == 200
    assert "What is ATP?" in page.text and "<strong>answer</strong>" in page.text
    intervals = dict(re.findall(r'data-testid="interval-(\w+)">([^<]+)<', page.text))
    # Learning steps 1m and 10m: Again 1m, Hard halfway (5.5m), Good 10m; Easy graduates at S0(Easy) = 8.3 days, fuzzed.
    assert {k: intervals[k] for k in ("again", "hard", "good")} == {"again": "1m", "hard": "6m", "good": "10m"}
    assert intervals["easy"] in {f"{d}d" for d in range(6, 12)}  # fsrs fuzz of 8 days: round(6 + 5u)
    rated = sam.post(
        RATE.format(deck.pk),
        {"token": field(page.text, "token"), "rating": "3", "duration_ms": "4200"},
        allow_redirects=False,
    )
    assert rated.status_code == 303
    assert "What is a ribosome?" in sam.get(REVIEW.format(deck.pk)).text
    log = ReviewLog.objects.get(learner=sam.user)
    assert (log.rating, log.duration_ms) == (3, 4200)


def test_a_double_submitted_rating_is_refused_without_changing_state(deck_and_learner):
    deck, sam = deck_and_learner
    token = field(sam.get(REVIEW.format(deck.pk)).text, "token")
    sam.post(RATE.format(deck.pk), {"token": token, "rating": "3"})
    state = CardState.objects.get(learner=sam.user)

    again = sam.post(RATE.format(deck.pk), {"token": token, "rating": "1"})

    assert again.status_code == 409
    assert 'data-code="already_rated"' in again.text and "Continue reviewing" in again.text
    after = CardState.objects.get(learner=sam.user)
    assert (after.reps, after.due, after.stability, after.state) == (1, state.due, state.stability, state.state)
    assert ReviewLog.objects.filter(learner=sam.user).count() == 1


def test_a_rating_for_another_learners_card_is_refused(deck_and_learner, platform, course, tool_url):
    deck, sam = deck_and_learner
    kim = enter(
        platform,
        LaunchSpec(platform.enrol(course, Person("student-2", "Kim", "k@example.edu", [ROLE + "Learner"])), course),
        tool_url,
    )
    kims_token = field(kim.get(REVIEW.format(deck.pk)).text, "token")

    stolen = sam.post(
        RATE.format(deck.pk), {"token": kims_token, "rating": "4"}, headers={"Accept": "application/json"}
    )

    assert stolen.status_code == 403
    assert stolen.json()["code"] == "not_yours"
    assert not CardState.objects.exists() and not ReviewLog.objects.exists()


@pytest.mark.parametrize(
    ("token", "rating", "status", "code"),
    [("forged.token", "3", 400, "bad_token"), (None, "5", 400, "bad_rating"), (None, "x", 400, "bad_rating")],
)
def test_bad_ratings_are_refused(deck_and_learner, token, rating, status, code):
    deck, sam = deck_and_learner
    token = token or field(sam.get(REVIEW.format(deck.pk)).text, "token")

    response = sam.post(
        RATE.format(deck.pk), {"token": token, "rating": rating}, headers={"Accept": "application/json"}
    )

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not CardState.objects.exists()


def test_a_deck_of_another_course_or_unpublished_is_not_found(deck_and_learner):
    _deck, sam = deck_and_learner
    elsewhere = DeckFactory()
    CardFactory(deck=elsewhere)
    draft = DeckFactory(context=sam.context, status="draft")

    assert sam.get(REVIEW.format(elsewhere.pk)).status_code == 404
    assert sam.get(REVIEW.format(draft.pk)).status_code == 404


def test_a_token_shown_in_one_deck_cannot_rate_in_another(deck_and_learner):
    deck, sam = deck_and_learner
    other = DeckFactory(context=sam.context)
    CardFactory(deck=other)
    token = field(sam.get(REVIEW.format(deck.pk)).text, "token")

    response = sam.post(RATE.format(other.pk), {"token": token, "rating": "3"}, headers={"Accept": "application/json"})

    assert (response.status_code, response.json()["code"]) == (403, "wrong_deck")


def test_new_cards_stop_at_the_daily_limit(deck_and_learner):
    deck, sam = deck_and_learner
    deck.new_cards_per_day = 1
    deck.save()
    token = field(sam.get(REVIEW.format(deck.pk)).text, "token")
    sam.post(RATE.format(deck.pk), {"token": token, "rating": "4"})  # Easy: graduates, due in days

    page = sam.get(REVIEW.format(deck.pk))

    assert 'data-testid="review-done"' in page.text
    assert "today's limit of new cards" in page.text


def test_pages_need_a_launch_and_learners_cannot_manage(deck_and_learner, tool_url):
    import requests

    deck, sam = deck_and_learner

    assert requests.get(f"{tool_url}{REVIEW.format(deck.pk)}", timeout=10).status_code == 401
    assert sam.get(f"/flashcards/decks/{deck.pk}/").status_code == 403
    assert sam.post(f"/flashcards/decks/{deck.pk}/publish", {"action": "unpublish"}).status_code == 403
