"""Deck grades mean what the deck's grading rule says, reach the gradebook within a minute, and nothing is final
before the learner has studied (flashcards/grades.py, docs/production.md "Flashcard deck grades")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.flashcards import grades
from lms_tool.flashcards.models import Deck, DeckGrade
from lms_tool.grading import passback
from lms_tool.grading import services as grading_services
from lms_tool.grading.models import Score
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.ags import gradebook

from .conftest import enter, field
from .factories import CardFactory, DeckFactory


@pytest.fixture
def seat(platform, course, student, tool_url):  # type: ignore[no-untyped-def]
    first = enter(platform, LaunchSpec(student, course), tool_url)
    deck = DeckFactory(context=first.context, title="Cells", grading_rule=Deck.GradingRule.COMPLETION)
    CardFactory.create_batch(3, deck=deck)
    sam = enter(
        platform,
        LaunchSpec(student, course, resource_link_id="rl-deck", custom={"activity": f"deck:{deck.pk}"}),
        tool_url,
    )
    grading_services.ags_endpoint_remember(launch=sam.launch)
    return deck, sam


def _rate_next(deck, sam, rating: str = "3") -> None:  # type: ignore[no-untyped-def]
    token = field(sam.get(f"/flashcards/decks/{deck.pk}/review/").text, "token")
    assert sam.post(f"/flashcards/decks/{deck.pk}/review/rate", {"token": token, "rating": rating}).status_code == 200


def _post_pending(sam) -> None:  # type: ignore[no-untyped-def]
    for pending in Score.objects.filter(user=sam.user, passback_state="pending").order_by("id"):
        passback.score_post(score_id=pending.pk)


def _after_debounce():  # type: ignore[no-untyped-def]
    return timezone.now() + grades.grade_interval() + timedelta(seconds=1)


def test_a_learner_who_studied_every_card_gets_full_marks_after_the_debounce(seat, platform):
    deck, sam = seat

    for _ in range(3):
        _rate_next(deck, sam)  # Good: the cards stay in their learning steps, studied all the same

    (first,) = Score.objects.filter(user=sam.user)  # the first rating posts; the next two wait for the debounce
    assert (first.score_given, first.grading_progress, first.activity_progress) == (
        pytest.approx(33.33),
        "FullyGraded",
        "InProgress",
    )
    assert DeckGrade.objects.get(deck=deck, learner=sam.user).dirty
    assert grades.grades_flush(now=timezone.now() + timedelta(seconds=1)) == 0  # still within the debounce

    assert grades.grades_flush(now=_after_debounce()) == 1

    latest = Score.objects.filter(user=sam.user).order_by("-id").first()
    assert (latest.score_given, latest.grading_progress, latest.activity_progress) == (
        100.0,
        "FullyGraded",
        "Completed",
    )
    _post_pending(sam)
    result = gradebook(platform).result(latest.line_item.url, "student-1")
    assert result is not None and result["resultScore"] == 100.0


def test_a_learner_who_has_not_studied_gets_nothing_in_the_gradebook(seat, platform):
    deck, sam = seat
    assert sam.get(f"/flashcards/decks/{deck.pk}/review/").status_code == 200  # opened the deck, rated nothing

    assert grades.grades_flush(now=_after_debounce() + timedelta(days=2)) == 0

    assert not Score.objects.filter(user=sam.user).exists()
    assert not any(uid == "student-1" for (_, uid) in gradebook(platform).results)


def test_the_flush_posts_the_latest_progress_once_per_debounce(seat):
    deck, sam = seat
    _rate_next(deck, sam)
    _rate_next(deck, sam)

    assert grades.grades_flush(now=_after_debounce()) == 1
    assert grades.grades_flush(now=_after_debounce()) == 0  # nothing new: the column is not posted again

    assert [s.score_given for s in Score.objects.filter(user=sam.user).order_by("id")] == [
        pytest.approx(33.33),
        pytest.approx(66.67),
    ]


def test_the_recall_rule_counts_cards_above_its_threshold_not_the_desired_retention(seat):
    deck, sam = seat
    Deck.objects.filter(pk=deck.pk).update(
        grading_rule=Deck.GradingRule.RECALL, grading_threshold=0.99, desired_retention=0.7
    )
    for _ in range(3):
        _rate_next(deck, sam, rating="4")  # Easy: recalled for sure today
    assert Score.objects.filter(user=sam.user).order_by("-id").first().score_given == pytest.approx(33.33)
    assert grades.grades_flush(now=_after_debounce()) == 1
    assert Score.objects.filter(user=sam.user).order_by("-id").first().score_given == 100.0

    ten_days = timezone.now() + timedelta(days=10)  # recall has faded below 99 %, still far above 70 %
    assert grades.grades_flush(now=ten_days) == 1

    latest = Score.objects.filter(user=sam.user).order_by("-id").first()
    assert (latest.score_given, latest.grading_progress) == (0.0, "FullyGraded")
    deck.refresh_from_db()
    deck.grading_threshold = 0.5
    assert grades.deck_progress(deck=deck, learner=sam.user, now=ten_days).share == 1.0


def test_the_completion_rule_ignores_fading_recall(seat):
    deck, sam = seat
    _rate_next(deck, sam)

    assert grades.grades_flush(now=timezone.now() + timedelta(days=60)) == 0

    assert [s.score_given for s in Score.objects.filter(user=sam.user)] == [pytest.approx(33.33)]


def test_an_ungraded_deck_sends_nothing(seat):
    deck, sam = seat
    Deck.objects.filter(pk=deck.pk).update(grading_rule=Deck.GradingRule.NONE)

    _rate_next(deck, sam)

    assert grades.grades_flush(now=_after_debounce()) == 0
    assert not Score.objects.exists() and not DeckGrade.objects.exists()


def test_the_instructor_chooses_the_grading_rule_and_the_deck_page_says_it(
    seat, platform, course, instructor, tool_url
):
    deck, _sam = seat
    ada = enter(platform, LaunchSpec(instructor, course, resource_link_id="rl-home"), tool_url)
    page = ada.get(f"/flashcards/decks/{deck.pk}/").text
    assert "studied at least once" in page

    answer = ada.post(
        f"/flashcards/decks/{deck.pk}/settings",
        {
            "title": "Cells",
            "desired_retention": "0.9",
            "maximum_interval": "36500",
            "learning_steps": "1m 10m",
            "relearning_steps": "10m",
            "new_cards_per_day": "20",
            "grading_rule": "recall",
            "grading_threshold": "0.85",
        },
    )

    assert answer.status_code == 200
    deck.refresh_from_db()
    assert (deck.grading_rule, deck.grading_threshold, deck.desired_retention) == ("recall", 0.85, 0.9)
    assert "recall today with a probability of at least 85%" in answer.text


def test_a_grading_threshold_out_of_range_is_refused_and_nothing_changes(seat, platform, course, instructor, tool_url):
    deck, _sam = seat
    ada = enter(platform, LaunchSpec(instructor, course, resource_link_id="rl-home"), tool_url)

    answer = ada.post(
        f"/flashcards/decks/{deck.pk}/settings",
        {
            "title": "Cells",
            "desired_retention": "0.9",
            "maximum_interval": "36500",
            "new_cards_per_day": "20",
            "grading_rule": "recall",
            "grading_threshold": "1.5",
        },
    )

    assert answer.status_code == 400
    deck.refresh_from_db()
    assert (deck.grading_rule, deck.grading_threshold) == ("completion", 0.8)


def test_staff_previews_and_links_of_other_activities_are_not_graded(
    seat, platform, course, instructor, student, tool_url
):
    deck, _sam = seat
    ada = enter(platform, LaunchSpec(instructor, course, custom={"activity": f"deck:{deck.pk}"}), tool_url)
    other = enter(
        platform, LaunchSpec(student, course, resource_link_id="rl-survey", custom={"activity": "survey:1"}), tool_url
    )

    _rate_next(deck, ada)
    _rate_next(deck, other)

    assert not Score.objects.exists()
