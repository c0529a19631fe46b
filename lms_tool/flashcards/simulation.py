"""Simulated learners, for judging the fitted weights (bench/fsrs_fit.py and the tests); never used to schedule.

The model, fixed before any fitting was measured (docs/benchmarks.md, "FSRS fitted to each learner"):

- **Memory.** Each learner's memory *is* FSRS-6 with weights of their own: every default weight is
  multiplied by ``exp(N(0, SPREAD))`` (SPREAD 0.35, so a weight is typically within 0.7 to 1.4 times the
  default), then clipped to fsrs's own bounds. Recall of a card at a review is drawn with the
  probability those true weights give; its true memory state then moves as FSRS says it moves.
- **Ratings.** A forgotten card is rated Again; a recalled one Hard, Good or Easy with the learner's
  own probabilities, drawn from a Dirichlet around (0.15, 0.75, 0.10).
- **Schedule.** The tool schedules as it does before any fit: fsrs with the default weights, 90%
  desired retention, learning steps 1 and 10 minutes, no fuzz. Learners meet ``NEW_PER_DAY`` new cards a
  day until the deck is exhausted, and study on a given day with their own probability (engagement,
  Beta(5, 1.5)); on a study day they review every due card, learning steps within the session.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

from .fitting import Review

SPREAD = 0.35
NEW_PER_DAY = 10
START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


@dataclass
class Learner:
    seed: int
    parameters: tuple[float, ...]
    engagement: float
    rating_probabilities: tuple[float, float, float]  # Hard, Good, Easy given recall
    reviews: list[Review] = field(default_factory=list)


def true_parameters(rng: random.Random) -> tuple[float, ...]:
    drawn = (w * math.exp(rng.gauss(0.0, SPREAD)) for w in DEFAULT_PARAMETERS)
    return tuple(
        min(max(w, low), high)
        for w, low, high in zip(drawn, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    )


def _dirichlet(rng: random.Random, alphas: tuple[float, ...]) -> tuple[float, ...]:
    draws = [rng.gammavariate(a, 1.0) for a in alphas]
    total = sum(draws)
    return tuple(d / total for d in draws)


def learner_draw(seed: int) -> Learner:
    rng = random.Random(f"learner:{seed}")
    hard, good, easy = _dirichlet(rng, (3.0, 15.0, 2.0))
    return Learner(
        seed=seed,
        parameters=true_parameters(rng),
        engagement=rng.betavariate(5.0, 1.5),
        rating_probabilities=(hard, good, easy),
    )


def _scheduler(parameters: tuple[float, ...]) -> Scheduler:
    return Scheduler(
        parameters=parameters,
        desired_retention=0.9,
        learning_steps=(timedelta(minutes=1), timedelta(minutes=10)),
        relearning_steps=(timedelta(minutes=10),),
        enable_fuzzing=False,
    )


def learner_simulate(learner: Learner, *, cards: int, days: int) -> Learner:
    """Fill ``learner.reviews`` with ``days`` days of study of a ``cards``-card deck."""
    rng = random.Random(f"reviews:{learner.seed}")
    tool = _scheduler(tuple(DEFAULT_PARAMETERS))
    memory = _scheduler(learner.parameters)
    scheduled: dict[int, Card] = {}
    true: dict[int, Card] = {}
    introduced = 0
    for day in range(days):
        if rng.random() > learner.engagement:
            continue
        now = START + timedelta(days=day, minutes=rng.randint(0, 180))
        for _ in range(min(NEW_PER_DAY, cards - introduced)):
            introduced += 1
            scheduled[introduced] = Card(card_id=introduced, due=now)
            true[introduced] = Card(card_id=introduced, due=now)
        # One session: every card due now, then learning steps as they fall due within it.
        for _ in range(50):
            due = sorted(c for c, card in scheduled.items() if card.due <= now)
            if not due:
                later = [card.due for card in scheduled.values() if card.due <= now + timedelta(minutes=20)]
                if not later:
                    break
                now = max(now, min(later))
                continue
            for card_id in due:
                rating = _rate(rng, learner, memory, true[card_id], now)
                scheduled[card_id], _ = tool.review_card(scheduled[card_id], rating, review_datetime=now)
                true[card_id], _ = memory.review_card(true[card_id], rating, review_datetime=now)
                learner.reviews.append(Review(card=card_id, rating=int(rating), at=now))
                now += timedelta(seconds=rng.randint(4, 20))
    return learner


def _rate(rng: random.Random, learner: Learner, memory: Scheduler, card: Card, now: datetime) -> Rating:
    if card.stability is not None and rng.random() > memory.get_card_retrievability(card, current_datetime=now):
        return Rating.Again
    if card.stability is None and rng.random() < 0.3:  # a card seen for the first time is often not known
        return Rating.Again
    hard, good, _ = learner.rating_probabilities
    draw = rng.random()
    return Rating.Hard if draw < hard else Rating.Good if draw < hard + good else Rating.Easy


@dataclass(frozen=True)
class Agreement:
    reviews: int  # reviews replayed
    cards: int
    same_interval: int  # reviews after which both give the same interval in days
    max_relative_difference: float  # of stability and difficulty


def schedules_compare(parameters: list[float], reviews: list[Review], *, cards: int) -> Agreement:
    """Replay the first ``cards`` cards' reviews in fsrs (the scheduler we use) and in the trainer's own
    model with the same weights: the memory state after every review, and the interval each gives."""
    import fsrs_rs_python as rs

    scheduler = _scheduler(tuple(parameters))
    model = rs.FSRS(list(parameters))
    histories: dict[int, list[Review]] = {}
    for review in reviews:
        if review.card in histories or len(histories) < cards:
            histories.setdefault(review.card, []).append(review)
    replayed = same = 0
    worst = 0.0
    for card_id, history in histories.items():
        card = Card(card_id=card_id, due=history[0].at)
        steps: list[rs.FSRSReview] = []
        previous: datetime | None = None
        for review in history:
            card, _ = scheduler.review_card(card, Rating(review.rating), review_datetime=review.at)
            steps.append(rs.FSRSReview(review.rating, 0 if previous is None else (review.at - previous).days))
            previous = review.at
            state = model.memory_state(rs.FSRSItem(list(steps)))
            assert card.stability is not None and card.difficulty is not None
            worst = max(
                worst,
                abs(state.stability - card.stability) / card.stability,
                abs(state.difficulty - card.difficulty) / card.difficulty,
            )
            theirs = min(max(round(model.next_interval(state.stability, 0.9, 3)), 1), scheduler.maximum_interval)
            same += scheduler._next_interval(stability=card.stability) == theirs
            replayed += 1
    return Agreement(reviews=replayed, cards=len(histories), same_interval=same, max_relative_difference=worst)


def daily_load_simulate(seed: int, *, cards: int, days: int, balance: bool) -> list[int]:
    """Reviews per day of one learner who studies every day, scheduled by our scheduler (fsrs with fuzz),
    with or without load balancing; the cards' outcomes drawn as in ``learner_simulate``."""
    from lms_tool.flashcards import scheduling  # the product's own scheduling path

    learner = learner_draw(seed)
    rng = random.Random(f"load:{seed}")
    settings = scheduling.Settings()
    memory = _scheduler(learner.parameters)
    scheduled: dict[int, Card] = {}
    true: dict[int, Card] = {}
    due_days: dict[int, int] = {}  # day -> cards due that day
    per_day = [0] * days
    introduced = reps = 0
    for day in range(days):
        now = START + timedelta(days=day)
        for _ in range(min(2 * NEW_PER_DAY, cards - introduced)):
            introduced += 1
            scheduled[introduced] = Card(card_id=introduced, due=now)
            true[introduced] = Card(card_id=introduced, due=now)
        # The learner studies once a day: every card due that day (by the day's end) is reviewed.
        end = START + timedelta(days=day + 1)
        for _ in range(50):
            due = sorted(c for c, card in scheduled.items() if card.due < end)
            if not due:
                break
            for card_id in due:
                rating = _rate(rng, learner, memory, true[card_id], now)
                before = scheduled[card_id]
                if before.state == 2:  # it leaves the day it was due on
                    due_days[(before.due - START).days] -= 1
                reps += 1

                def load(first: int, last: int, today: int = day) -> dict[int, int]:
                    return {d: due_days.get(today + d, 0) for d in range(first, last + 1)}

                after = scheduling.review(
                    settings, before, rating, now, scheduling.fuzz_draw(seed, card_id, reps), load if balance else None
                )
                if after.state == 2:
                    due_days[(after.due - START).days] = due_days.get((after.due - START).days, 0) + 1
                scheduled[card_id] = after
                true[card_id], _ = memory.review_card(true[card_id], rating, review_datetime=now)
                per_day[day] += 1
                now += timedelta(seconds=30)
            now += timedelta(minutes=10)
    return per_day
