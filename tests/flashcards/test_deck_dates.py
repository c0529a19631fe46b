"""A deck's dates (the platform's win), study refused outside them, and the daily limit at the learner's midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lms_tool.flashcards import reviews
from lms_tool.flashcards.models import CardState, Deck
from lms_tool.sandbox.platform import LaunchSpec

from .conftest import enter, field
from .factories import CardFactory, DeckFactory, LtiUserFactory

REVIEW = "/flashcards/decks/{}/review/"


def test_deck_dates_in_the_instructors_zone_hold_the_learners_study_and_the_platforms_win(
    canvas, course, instructor, student, tool_url
):
    ada = enter(canvas, LaunchSpec(instructor, course, custom={"person_timezone": "Europe/Madrid"}), tool_url)
    deck = DeckFactory(context=ada.context, title="Cells")
    refused = ada.post(
        f"/flashcards/decks/{deck.pk}/dates", {"opens_at": "2030-05-02T10:00", "closes_at": "2030-05-01T10:00"}
    )
    assert refused.status_code == 400 and "The close time must be after the open time" in refused.text
    assert Deck.objects.get(pk=deck.pk).opens_at is None
    saved = ada.post(f"/flashcards/decks/{deck.pk}/dates", {"due_at": "2030-05-01T10:00"})
    assert saved.status_code == 200 and "Wed 1 May 2030, 10:00 (Europe/Madrid)" in saved.text
    assert Deck.objects.get(pk=deck.pk).due_at == datetime(2030, 5, 1, 8, 0, tzinfo=UTC)  # CEST is UTC+2

    # Study waits for the open and stops at the close, the platform's dates winning.
    sam = enter(canvas, LaunchSpec(student, course), tool_url)
    Deck.objects.filter(pk=deck.pk).update(opens_at=timezone.now() + timedelta(days=1))
    CardFactory(deck=deck, front="What is ATP?", back="energy")
    early = sam.get(REVIEW.format(deck.pk))
    assert 'data-testid="study-closed"' in early.text and "This deck opens on" in early.text
    assert "What is ATP?" not in early.text

    # The platform's dates (here: a close in the past) replace the deck's own as a whole.
    closed_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    dated = enter(canvas, LaunchSpec(student, course, custom={"lock_at": closed_at.isoformat()}), tool_url)
    page = dated.get(REVIEW.format(deck.pk))
    assert "This deck closed on" in page.text and "Dates set in your course platform" in page.text

    Deck.objects.filter(pk=deck.pk).update(opens_at=None)
    shown = sam.get(REVIEW.format(deck.pk))
    assert "What is ATP?" in shown.text
    token = field(shown.text, "token")
    refused = dated.post(f"/flashcards/decks/{deck.pk}/review/rate", {"token": token, "rating": "3"})
    assert refused.status_code == 409 and "This deck closed on" in refused.text
    assert not CardState.objects.filter(card__deck=deck).exists()


@pytest.mark.django_db
def test_the_daily_new_card_limit_resets_at_the_learners_midnight_not_utcs():
    deck = DeckFactory(new_cards_per_day=1)
    learner = LtiUserFactory(registration=deck.context.registration)
    card = CardFactory(deck=deck)
    CardFactory(deck=deck)
    # Started at 23:30 UTC on 3 December: already 4 December (08:30) in Tokyo, still the 3rd in New York.
    started = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    CardState.objects.create(deck=deck, card=card, learner=learner, due=started, created_at=started)
    now = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo, 19:30 the day before in New York
    tokyo, new_york = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
    assert reviews.new_cards_left(deck=deck, learner=learner, now=now, zone=tokyo) == 0  # the same Tokyo day
    assert reviews.new_cards_left(deck=deck, learner=learner, now=now, zone=new_york) == 0  # the same NY day
    assert reviews.new_cards_left(deck=deck, learner=learner, now=now, zone=UTC) == 1  # UTC's new day
    # In New York the limit resets at local midnight: 05:00 UTC on 4 December.
    after_ny_midnight = datetime(2026, 12, 4, 5, 1, tzinfo=UTC)
    assert reviews.new_cards_left(deck=deck, learner=learner, now=after_ny_midnight, zone=new_york) == 1
