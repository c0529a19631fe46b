"""Generation through the AI provider (offline, and a provider that cannot be reached); the optional optimiser."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lms_tool.flashcards import optimizer, services
from lms_tool.flashcards.models import Card, DeckGeneration, ReviewLog

from .factories import CardFactory, DeckFactory, learner_in

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


def test_the_core_never_imports_the_optimisers_dependencies():
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'lti_config.settings'); django.setup();"
        "import lms_tool.flashcards.views, lms_tool.flashcards.views_review, lms_tool.flashcards.tasks;"
        "bad = [m for m in ('torch', 'pandas', 'fsrs.optimizer') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr


def test_learners_with_enough_new_reviews_are_due_for_a_fit(deck, settings):
    settings.FLASHCARDS = {**settings.FLASHCARDS, "OPTIMIZER_MIN_REVIEWS": 3}
    card = CardFactory(deck=deck)
    keen, idle = learner_in(deck), learner_in(deck)
    for learner, n in ((keen, 4), (idle, 2)):
        for i in range(n):
            ReviewLog.objects.create(
                learner=learner,
                card=card,
                deck=deck,
                rating=3,
                reviewed_at=deck.created_at,
                state_after=2,
                stability_after=1.0 + i,
                difficulty_after=5.0,
                due_after=deck.created_at,
            )

    assert optimizer.learners_to_fit(limit=10) == [keen.pk]


@pytest.mark.skipif(optimizer.optimizer_available(), reason="the fsrs[optimizer] extra is installed here")
def test_without_the_optimizer_extra_the_periodic_task_does_nothing(db, caplog):
    caplog.set_level("INFO", logger="lms_tool.flashcards.optimizer")

    assert optimizer.parameters_fit_due() == 0
    assert 'install "fsrs[optimizer]"' in caplog.text


@pytest.mark.skipif(not optimizer.optimizer_available(), reason='needs pip install "fsrs[optimizer]" (torch)')
def test_with_the_optimizer_extra_a_learner_gets_fitted_weights(deck):  # pragma: no cover - optional extra
    from datetime import timedelta

    from lms_tool.flashcards import reviews
    from lms_tool.flashcards.models import LearnerParameters

    learner = learner_in(deck)
    now = deck.created_at
    for card in CardFactory.create_batch(20, deck=deck):
        for reps in range(6):
            token = reviews.token_make(deck=deck, card=card, learner=learner, reps=reps)
            state = reviews.review_record(deck=deck, learner=learner, token=token, rating=3, now=now)
            now = max(now, state.due) + timedelta(minutes=1)

    fitted = optimizer.learner_parameters_fit(learner=learner)

    assert len(fitted.parameters) == 21 and LearnerParameters.objects.get(learner=learner).review_count == 120
