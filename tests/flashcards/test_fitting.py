"""FSRS weights fitted to each learner (fsrs-rs-python), per deck for learners with few reviews, kept only when
they predict the held-out reviews better; a refit never moves a posted grade; load balancing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Rating
from fsrs.scheduler import DEFAULT_PARAMETERS

from lms_tool.flashcards import fitting, grades, optimizer, reviews, scheduling, selectors, simulation
from lms_tool.flashcards.models import Card, CardState, Deck, DeckParameters, LearnerParameters, ParameterFit, ReviewLog

from .factories import CardFactory, DeckFactory, learner_in


@pytest.fixture
def deck(db):  # type: ignore[no-untyped-def]
    return DeckFactory(status="published")


def _log(deck: Deck, learner, simulated: simulation.Learner) -> None:  # type: ignore[no-untyped-def]
    """Write a simulated learner's reviews into the review log (the cards are the deck's own)."""
    cards = {n: CardFactory(deck=deck).pk for n in sorted({r.card for r in simulated.reviews})}
    ReviewLog.objects.bulk_create(
        ReviewLog(
            learner=learner,
            card_id=cards[r.card],
            deck=deck,
            rating=r.rating,
            reviewed_at=r.at,
            state_after=2,
            stability_after=1.0,
            difficulty_after=5.0,
            due_after=r.at,
        )
        for r in simulated.reviews
    )


def _simulated(seed: int) -> simulation.Learner:
    return simulation.learner_simulate(simulation.learner_draw(seed), cards=60, days=120)


def test_a_learner_with_enough_reviews_gets_weights_that_beat_the_defaults_on_held_out_reviews(deck, settings):
    settings.FLASHCARDS = {**settings.FLASHCARDS, "OPTIMIZER_MIN_REVIEWS": 300}
    learner, idle = learner_in(deck), learner_in(deck)
    _log(deck, learner, _simulated(0))
    _log(deck, idle, simulation.Learner(seed=-1, parameters=(), engagement=0, rating_probabilities=(0, 1, 0)))

    assert optimizer.learners_to_fit(limit=10) == [learner.pk]
    assert optimizer.parameters_fit_due() == 1

    attempt = ParameterFit.objects.get(learner=learner)
    assert attempt.kept and attempt.candidate_log_loss < attempt.current_log_loss
    assert attempt.test_items > 50 and attempt.trainer.startswith("fsrs-rs-python ")
    fitted = LearnerParameters.objects.get(learner=learner)
    assert len(fitted.parameters) == 21 and fitted.parameters != list(DEFAULT_PARAMETERS)
    # The scheduler now uses them, and fsrs accepts them as they are.
    assert reviews.settings_for(deck, learner).parameters == tuple(fitted.parameters)
    scheduling.unfuzzed_scheduler(reviews.settings_for(deck, learner))
    # Not due again until a quarter more reviews exist.
    assert optimizer.learners_to_fit(limit=10) == []


def test_a_fit_that_predicts_worse_than_the_weights_in_use_is_recorded_and_not_kept(deck, settings):
    settings.FLASHCARDS = {**settings.FLASHCARDS, "OPTIMIZER_MIN_REVIEWS": 300}
    learner = learner_in(deck)
    simulated = _simulated(2)
    _log(deck, learner, simulated)
    # The learner's true weights are in use: a fit from their own noisy log should not beat the truth.
    truth = list(simulated.parameters)
    LearnerParameters.objects.create(learner=learner, parameters=truth, review_count=1, optimized_at=datetime.now(UTC))

    attempt = optimizer.learner_parameters_fit(learner=learner)

    assert attempt is not None and not attempt.kept
    assert attempt.candidate_log_loss >= attempt.current_log_loss
    assert LearnerParameters.objects.get(learner=learner).parameters == truth


def test_learners_with_few_reviews_share_weights_fitted_to_their_deck(deck, settings):
    settings.FLASHCARDS = {**settings.FLASHCARDS, "OPTIMIZER_MIN_REVIEWS": 100_000, "OPTIMIZER_MIN_DECK_REVIEWS": 500}
    few = [learner_in(deck) for _ in range(3)]
    for seed, learner in enumerate(few, start=20):
        _log(deck, learner, simulation.learner_simulate(simulation.learner_draw(seed), cards=30, days=60))
    other_deck = DeckFactory(status="published", context=deck.context)

    assert optimizer.learners_to_fit(limit=10) == []
    assert optimizer.decks_to_fit(limit=10) == [deck.pk]
    attempt = optimizer.deck_parameters_fit(deck=deck)

    assert attempt is not None and attempt.learner_id is None
    assert attempt.kept, (attempt.candidate_log_loss, attempt.current_log_loss)
    pooled = DeckParameters.objects.get(deck=deck)
    assert pooled.learner_count == 3
    assert reviews.settings_for(deck, few[0]).parameters == tuple(pooled.parameters)
    # Only in that deck; and a learner's own weights come first.
    assert reviews.settings_for(other_deck, few[0]).parameters == tuple(DEFAULT_PARAMETERS)
    own = [0.5, *list(DEFAULT_PARAMETERS)[1:]]
    LearnerParameters.objects.create(learner=few[1], parameters=own, review_count=1, optimized_at=datetime.now(UTC))
    assert reviews.settings_for(deck, few[1]).parameters == tuple(own)


def test_a_refit_never_changes_a_grade_already_posted(deck):
    Deck.objects.filter(pk=deck.pk).update(grading_rule=Deck.GradingRule.RECALL, grading_threshold=0.8)
    deck.refresh_from_db()
    learner = learner_in(deck)
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for card in CardFactory.create_batch(10, deck=deck):
        CardState.objects.create(
            learner=learner,
            card=card,
            deck=deck,
            state=2,
            stability=float(card.pk % 7 + 1),
            difficulty=5.0,
            due=now,
            last_review=now - timedelta(days=6),
            reps=3,
            created_at=now - timedelta(days=9),
        )
    before = grades.deck_progress(deck=deck, learner=learner, now=now)
    # A refit with a very different forgetting curve (w20) is stored for the learner...
    refit = list(DEFAULT_PARAMETERS)
    refit[20] = 0.8
    LearnerParameters.objects.create(learner=learner, parameters=refit, review_count=500, optimized_at=now)

    # ...and the recall grade computed from the same memory states is the same.
    assert grades.deck_progress(deck=deck, learner=learner, now=now) == before
    assert 0 < before.share < 1  # not vacuous: some cards are above the threshold, some below
    # (the learner's own forgetting curve would have moved it: that is what the grade must not follow)
    arrays = selectors._arrays(CardState.objects.filter(learner=learner, deck=deck))
    personal, _ = selectors._predict(arrays, now, 0, personal=True)
    assert int((personal >= 0.8).sum()) != round(before.share * 10)


def test_fsrs_and_the_trainer_schedule_identically_with_fitted_weights():
    simulated = _simulated(3)
    fit = fitting.fit(simulated.reviews, current=fitting.default_parameters())
    assert fit is not None

    agreement = simulation.schedules_compare(fit.parameters, simulated.reviews, cards=60)

    assert agreement.reviews > 300
    assert agreement.same_interval == agreement.reviews
    assert agreement.max_relative_difference < 1e-3


def test_load_balancing_picks_the_least_loaded_day_fsrs_allows():
    first, last = scheduling.fuzz_range(20, 36500)
    fuzzed = scheduling.fuzzed_days(20, 36500, 0.5)
    busy = {day: 50 for day in range(first, last + 1)}
    busy[last] = 3

    assert first < fuzzed < last
    assert scheduling.balanced_days(20, 36500, 0.5, lambda a, b: busy) == last
    # An empty schedule leaves fsrs's own fuzzed day; short intervals are never moved.
    assert scheduling.balanced_days(20, 36500, 0.5, lambda a, b: {}) == fuzzed
    assert scheduling.balanced_days(2, 36500, 0.5, lambda a, b: busy) == 2


def test_a_rating_goes_to_the_learners_least_loaded_day_and_the_button_said_so(deck):
    learner = learner_in(deck)
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    card = CardFactory(deck=deck)
    state = CardState.objects.create(
        learner=learner,
        card=card,
        deck=deck,
        state=2,
        stability=20.0,
        difficulty=5.0,
        due=now,
        last_review=now - timedelta(days=20),
        reps=4,
        created_at=now - timedelta(days=40),
    )
    settings_ = reviews.settings_for(deck, learner)
    unfuzzed, _ = scheduling.unfuzzed_scheduler(settings_).review_card(reviews.to_fsrs(state), Rating.Good, now)
    first, last = scheduling.fuzz_range((unfuzzed.due - now).days, deck.maximum_interval)
    assert first < last
    # Fill every allowed day but the first with other cards of the learner (another deck counts too).
    other = DeckFactory(status="published", context=deck.context)
    for day in range(first + 1, last + 1):
        for _ in range(3):
            CardState.objects.create(
                learner=learner,
                card=CardFactory(deck=other),
                deck=other,
                state=2,
                stability=9.0,
                difficulty=5.0,
                due=now + timedelta(days=day, hours=2),
                last_review=now,
                reps=1,
                created_at=now,
            )

    shown = reviews.next_card(deck=deck, learner=learner, now=now)
    assert shown is not None and shown.card == card
    recorded = reviews.review_record(deck=deck, learner=learner, token=shown.token, rating=3, now=now)

    assert (recorded.due - now).days == first
    assert shown.intervals[3] == scheduling.human_interval(recorded.due - now)
    assert Card.objects.filter(deck=other).count() == 3 * (last - first)
