"""Generation through the AI provider (offline, and a provider that cannot be reached)."""

from __future__ import annotations

import pytest

from lms_tool.flashcards import services
from lms_tool.flashcards.models import Card, DeckGeneration

from .factories import DeckFactory, learner_in

TEXT = (
    "Mitochondria are organelles that produce ATP through cellular respiration. "
    "Ribosomes are the sites of protein synthesis in the cell."
)


@pytest.fixture
def deck(db):  # type: ignore[no-untyped-def]
    return DeckFactory(status="draft")


def test_generated_cards_are_proposed_with_their_source_and_the_run_is_recorded(deck):
    generation = DeckGeneration.objects.create(deck=deck, text=TEXT, count=2)

    services.generation_run(generation=generation)

    generation.refresh_from_db()
    assert generation.status == "done" and generation.model and generation.prompt
    cards = list(Card.objects.filter(deck=deck))
    assert len(cards) == generation.created_count >= 1
    assert all(c.status == "proposed" and c.source_passage in TEXT for c in cards)


def test_a_provider_that_cannot_be_reached_fails_the_run_and_writes_no_card(deck, settings):
    settings.AI = {
        **settings.AI,
        "BASE_URL": "http://127.0.0.1:9/v1",
        "MODEL": "m",
        "MAX_RETRIES": 0,
        "TIMEOUT_SECONDS": 2,
    }
    generation = DeckGeneration.objects.create(deck=deck, text=TEXT, count=2)

    services.generation_run(generation=generation)

    generation.refresh_from_db()
    assert generation.status == "failed" and generation.error
    assert not Card.objects.filter(deck=deck).exists()


def test_a_redelivered_generation_task_does_not_add_cards_twice(deck):
    generation = DeckGeneration.objects.create(deck=deck, text=TEXT, count=2)
    services.generation_run(generation=generation)

    made = Card.objects.filter(deck=deck).count()

    services.generation_run(generation=DeckGeneration.objects.get(pk=generation.pk))

    assert made >= 1 and Card.objects.filter(deck=deck).count() == made


@pytest.mark.parametrize(
    ("text", "count", "message"),
    [("  ", 3, "Paste the course text"), (TEXT, 0, "1 to 50"), ("x" * 50_001, 3, "at most 50000")],
)
def test_bad_generation_requests_are_refused(deck, text, count, message):
    with pytest.raises(services.DeckInvalid, match=message):
        services.generation_request(deck=deck, actor=learner_in(deck), text=text, count=count)
    assert not DeckGeneration.objects.exists()
