"""Our scheduling equals the fsrs package's own for the same review history, step by step."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import fsrs
import fsrs.scheduler
import pytest
from fsrs import Rating, Scheduler

from lms_tool.flashcards import reviews, scheduling
from lms_tool.flashcards.models import CardState, LearnerParameters, ReviewLog

from .factories import CardFactory, DeckFactory, learner_in

START = datetime(2025, 1, 6, 8, 30, tzinfo=UTC)
CUSTOM_WEIGHTS = [round(w * (1.07 if i % 2 else 0.95), 4) for i, w in enumerate(fsrs.scheduler.DEFAULT_PARAMETERS)]

CONFIGS = {
    "defaults": ({}, None),
    "strict-deck": (
        {
            "desired_retention": 0.8,
            "learning_steps": [120, 900, 3600],
            "relearning_steps": [300, 1200],
            "maximum_interval": 180,
            "new_cards_per_day": 1000,
        },
        None,
    ),
    "no-steps-no-fuzz": ({"learning_steps": [], "relearning_steps": [], "enable_fuzzing": False}, None),
    "fitted-weights": ({"desired_retention": 0.95}, CUSTOM_WEIGHTS),
}


def _history(rng: random.Random, length: int) -> list[tuple[Rating, float]]:
    """(rating, when relative to the due date in days): mostly on time, some early, some late, many lapses."""
    ratings = [Rating.Again, Rating.Hard, Rating.Good, Rating.Good, Rating.Easy]
    timing = [0.0, 0.0, 0.3, -0.4, 2.5, 15.0, 0.01]
    return [(rng.choice(ratings), rng.choice(timing) + rng.random() * 0.2) for _ in range(length)]


def _fsrs_scheduler(deck, weights) -> Scheduler:  # type: ignore[no-untyped-def]
    return Scheduler(
        parameters=weights or fsrs.scheduler.DEFAULT_PARAMETERS,
        desired_retention=deck.desired_retention,
        learning_steps=[timedelta(seconds=s) for s in deck.learning_steps],
        relearning_steps=[timedelta(seconds=s) for s in deck.relearning_steps],
        maximum_interval=deck.maximum_interval,
        enable_fuzzing=deck.enable_fuzzing,
    )


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_a_long_history_schedules_exactly_as_fsrs_does(db, monkeypatch, settings, config):
    # Load balancing picks among the days fsrs's fuzz allows (tests/flashcards/test_fitting.py); with it off,
    # the day is the one fsrs's own fuzz picks, so every review can be compared exactly.
    settings.FLASHCARDS = {**settings.FLASHCARDS, "LOAD_BALANCING": False}
    deck_fields, weights = CONFIGS[config]
    deck = DeckFactory(**deck_fields)
    learner = learner_in(deck)
    if weights:
        LearnerParameters.objects.create(learner=learner, parameters=weights, review_count=0, optimized_at=START)
    scheduler = _fsrs_scheduler(deck, weights)
    rng = random.Random(f"history-{config}")
    fuzzed = 0
    for card in CardFactory.create_batch(3, deck=deck):
        theirs = fsrs.Card(card_id=card.pk, due=START)
        now = START
        for reps, (rating, offset_days) in enumerate(_history(rng, 120)):
            now = max(now + timedelta(seconds=30), theirs.due + timedelta(days=offset_days))
            now = now.replace(microsecond=rng.randrange(1_000_000))
            # fsrs draws its fuzz from random(); give it the draw our scheduler uses for this review.
            draw = scheduling.fuzz_draw(learner.pk, card.pk, reps)
            monkeypatch.setattr(fsrs.scheduler, "random", lambda draw=draw: draw)
            theirs, _ = scheduler.review_card(theirs, rating, review_datetime=now)
            token = reviews.token_make(deck=deck, card=card, learner=learner, reps=reps)

            reviews.review_record(deck=deck, learner=learner, token=token, rating=int(rating), now=now)

            ours = CardState.objects.get(learner=learner, card=card)
            assert (ours.state, ours.step) == (int(theirs.state), theirs.step), f"review {reps}"
            assert (ours.stability, ours.difficulty) == (theirs.stability, theirs.difficulty), f"review {reps}"
            assert (ours.due, ours.last_review) == (theirs.due, theirs.last_review), f"review {reps}"
            fuzzed += ours.due - now >= timedelta(days=3)
    assert ReviewLog.objects.filter(learner=learner).count() == 360
    if deck.enable_fuzzing:
        assert fuzzed > 20, "the history should exercise fuzzed review intervals"


def test_fsrs_cards_are_created_with_an_id_so_fsrs_never_sleeps(db, monkeypatch):
    deck = DeckFactory()
    card = CardFactory(deck=deck)
    learner = learner_in(deck)
    monkeypatch.setattr(fsrs.card.time, "sleep", lambda _s: pytest.fail("fsrs.Card created without a card_id"))

    shown = reviews.next_card(deck=deck, learner=learner)
    reviews.review_record(deck=deck, learner=learner, token=shown.token, rating=3)

    assert CardState.objects.get(card=card).reps == 1


def test_the_interval_on_each_button_is_the_one_the_rating_gives(db):
    deck = DeckFactory(new_cards_per_day=50)
    card = CardFactory(deck=deck)
    learner = learner_in(deck)
    now = START
    for rating in [3, 3, 3, 4, 2, 3, 1, 3, 3, 3]:
        shown = reviews.next_card(deck=deck, learner=learner, now=now)
        assert shown is not None and shown.card == card

        state = reviews.review_record(deck=deck, learner=learner, token=shown.token, rating=rating, now=now)

        assert shown.intervals[rating] == scheduling.human_interval(state.due - now)
        now = state.due + timedelta(hours=1)
