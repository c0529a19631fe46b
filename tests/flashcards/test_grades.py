"""Deck progress reaches the platform gradebook as FullyGraded, at most once per learner per interval."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.flashcards import grades
from lms_tool.flashcards.models import DeckGrade
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
    deck = DeckFactory(context=first.context, title="Cells")
    CardFactory.create_batch(3, deck=deck)
    sam = enter(
        platform,
        LaunchSpec(student, course, resource_link_id="rl-deck", custom={"activity": f"deck:{deck.pk}"}),
        tool_url,
    )
    grading_services.ags_endpoint_remember(launch=sam.launch)
    return deck, sam


def _rate_next(deck, sam, rating: str = "4") -> None:  # type: ignore[no-untyped-def]
    token = field(sam.get(f"/flashcards/decks/{deck.pk}/review/").text, "token")
    assert sam.post(f"/flashcards/decks/{deck.pk}/review/rate", {"token": token, "rating": rating}).status_code == 200


def test_progress_is_posted_at_once_then_held_for_the_interval(seat, platform):
    deck, sam = seat

    for _ in range(3):
        _rate_next(deck, sam)  # Easy: each card graduates to Review, recalled at ~100 %

    (score,) = Score.objects.filter(user=sam.user)
    assert (score.score_given, score.score_maximum) == (pytest.approx(33.33), 100)
    assert (score.grading_progress, score.activity_progress, score.source) == ("FullyGraded", "InProgress", "automatic")
    assert score.resource_link == sam.resource_link
    grade = DeckGrade.objects.get(deck=deck, learner=sam.user)
    assert grade.dirty and grade.posted_progress == pytest.approx(1 / 3)

    assert grades.grades_flush(now=timezone.now() + timedelta(minutes=5)) == 0
    posted = grades.grades_flush(now=timezone.now() + grades.grade_interval() + timedelta(seconds=1))

    assert posted == 1
    latest = Score.objects.filter(user=sam.user).order_by("-id").first()
    assert (latest.score_given, latest.activity_progress) == (100.0, "Completed")
    for pending in Score.objects.filter(user=sam.user, passback_state="pending"):
        passback.score_post(score_id=pending.pk)
    result = gradebook(platform).result(latest.line_item.url, "student-1")
    assert result is not None and result["resultScore"] == 100.0


def test_forgetting_lowers_the_grade_at_the_next_flush(seat):
    deck, sam = seat
    _rate_next(deck, sam)
    later = timezone.now() + timedelta(days=60)  # long past the card's due date: recall below 90 %

    assert grades.grades_flush(now=later) == 1

    assert Score.objects.filter(user=sam.user).order_by("-id").first().score_given == 0


def test_an_unchanged_progress_is_not_posted_again(seat):
    deck, sam = seat
    _rate_next(deck, sam, rating="1")  # Again: still learning, progress stays 0 (posted once as 0)

    assert grades.grades_flush(now=timezone.now() + grades.grade_interval() + timedelta(seconds=1)) == 0
    assert Score.objects.filter(user=sam.user).count() == 1


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
