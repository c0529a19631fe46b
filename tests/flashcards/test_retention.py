"""Retention analytics: hand-checked small cases, and the vectorised maths equals fsrs card by card."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import fsrs
import numpy as np
import pytest

from lms_tool.flashcards import retention, selectors
from lms_tool.flashcards.models import CardState, LearnerParameters, State

from .factories import CardFactory, DeckFactory, learner_in

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
# FSRS-6 forgetting curve with the default weights: R(t, S) = (1 + F t / S) ** D.
D = -0.1542
F = 0.9 ** (1 / D) - 1


def _state(learner, card, *, stability, ago, state=State.REVIEW, lapses=0):  # type: ignore[no-untyped-def]
    return CardState.objects.create(
        learner=learner,
        card=card,
        deck=card.deck,
        state=state,
        stability=stability,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - ago,
        reps=3,
        lapses=lapses,
        created_at=NOW - timedelta(days=30),
        step=0 if state != State.REVIEW else None,
    )


@pytest.fixture
def course(db):  # type: ignore[no-untyped-def]
    deck = DeckFactory(title="Cells", desired_retention=0.9)
    mitosis = CardFactory(deck=deck, front="What is mitosis?", tags=["mitosis"])
    both = CardFactory(deck=deck, front="Mitosis vs meiosis?", tags=["meiosis", "mitosis"])
    unseen = CardFactory(deck=deck, front="Never reviewed", tags=["ribosome"])
    ada, bob = learner_in(deck, name="Ada"), learner_in(deck, name="Bob")
    # Stability is the time to fall to 90 % recall: elapsed == S gives exactly 0.9; elapsed 0 gives 1.
    _state(ada, mitosis, stability=2.0, ago=timedelta(days=2, hours=3))
    _state(ada, both, stability=10.0, ago=timedelta(hours=12))
    _state(bob, mitosis, stability=5.0, ago=timedelta(days=5, minutes=1), state=State.RELEARNING, lapses=3)
    _state(bob, both, stability=1.0, ago=timedelta(days=1), lapses=1)
    return {"deck": deck, "mitosis": mitosis, "both": both, "unseen": unseen, "ada": ada, "bob": bob}


def test_card_retention_is_the_mean_over_learners_now_and_later(course):
    rows = {r.key: r for r in selectors.card_retention(deck=course["deck"], now=NOW, days=7)}

    mitosis, both = rows[course["mitosis"].pk], rows[course["both"].pk]
    assert mitosis.now == pytest.approx(0.9, abs=1e-12)
    assert both.now == pytest.approx((1.0 + 0.9) / 2, abs=1e-12)
    # 7 days on: Ada's mitosis card is 9 days old at S=2, Bob's 12 days at S=5.
    assert mitosis.later == pytest.approx(((1 + F * 9 / 2) ** D + (1 + F * 12 / 5) ** D) / 2, abs=1e-12)
    assert (mitosis.states, mitosis.lapses) == (2, 3)
    assert rows[course["unseen"].pk].states == 0
    assert [r.key for r in selectors.card_retention(deck=course["deck"], now=NOW)][:2] == [
        course["mitosis"].pk,
        course["both"].pk,
    ]


def test_learner_retention_ranks_the_weakest_learner_first(course):
    rows = selectors.learner_retention(deck=course["deck"], now=NOW, days=7)

    assert [(r.label, round(r.now, 12)) for r in rows] == [("Bob", 0.9), ("Ada", 0.95)]
    assert rows[0].lapses == 4


def test_concepts_with_lowest_retention_and_most_lapses_across_the_course(course):
    rows = selectors.concept_retention(context=course["deck"].context, now=NOW, days=7)

    by_concept = {r.key: r for r in rows}
    assert set(by_concept) == {"mitosis", "meiosis"}  # a concept nobody reviewed has no prediction
    assert by_concept["mitosis"].now == pytest.approx((0.9 + 1.0 + 0.9 + 0.9) / 4, abs=1e-12)
    assert by_concept["meiosis"].now == pytest.approx(0.95, abs=1e-12)
    assert rows[0].key == "mitosis"
    assert (by_concept["mitosis"].lapses, by_concept["meiosis"].lapses) == (4, 1)


def test_deck_progress_counts_review_cards_at_or_above_desired_retention(course):
    deck = course["deck"]

    assert selectors.deck_progress(deck=deck, learner=course["ada"], now=NOW) == pytest.approx(2 / 3)
    # Bob's mitosis card is relearning: only his other card counts.
    assert selectors.deck_progress(deck=deck, learner=course["bob"], now=NOW) == pytest.approx(1 / 3)
    # A day later Bob's S=1 card has dropped below 0.9.
    assert selectors.deck_progress(deck=deck, learner=course["bob"], now=NOW + timedelta(days=1)) == 0


def test_a_learners_progress_view_shows_their_own_cards(course):
    (progress,) = selectors.learner_progress(learner=course["ada"], context=course["deck"].context, now=NOW, days=7)

    assert (progress.seen, progress.total, progress.progress) == (2, 3, pytest.approx(2 / 3))
    assert progress.now == pytest.approx(0.95, abs=1e-12)
    assert progress.weakest[0].label == "What is mitosis?"


def test_fitted_weights_change_a_learners_curve(course):
    weights = list(fsrs.scheduler.DEFAULT_PARAMETERS)
    weights[20] = 0.5
    LearnerParameters.objects.create(learner=course["ada"], parameters=weights, review_count=10, optimized_at=NOW)

    rows = {r.key: r for r in selectors.learner_retention(deck=course["deck"], now=NOW, days=7)}

    d, f = -0.5, 0.9 ** (1 / -0.5) - 1
    expected = ((1 + f * 9 / 2) ** d + (1 + f * 7 / 10) ** d) / 2
    assert rows[course["ada"].pk].later == pytest.approx(expected, abs=1e-12)
    assert rows[course["bob"].pk].now == pytest.approx(0.9, abs=1e-12)


def test_vectorised_retrievability_equals_fsrs_card_by_card():
    rng = random.Random(7)
    scheduler = fsrs.Scheduler()
    cards = [fsrs.Card(card_id=i, due=NOW) for i in range(3000)]
    for i, card in enumerate(cards):
        if i % 10:  # one card in ten never reviewed: fsrs says 0
            card.stability = rng.choice([0.001, 0.3, 1.0, 4.2, 37.0, 900.0])
            # on day boundaries, a microsecond either side, and in the future (clock skew)
            card.last_review = NOW - timedelta(days=rng.randrange(-2, 400), microseconds=rng.choice([-1, 0, 1, 5e9]))
    now_us = retention.epoch_us(NOW)

    ours = retention.retrievability(
        np.array([np.nan if c.stability is None else c.stability for c in cards]),
        retention.epoch_us_array(c.last_review for c in cards),
        now_us,
        *retention.decay_factor(),
    )

    theirs = np.array([scheduler.get_card_retrievability(c, current_datetime=NOW) for c in cards])
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)
