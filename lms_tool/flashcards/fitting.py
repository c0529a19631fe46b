"""Fitting FSRS weights to a review log with ``fsrs-rs-python`` (the Rust trainer Anki uses; no torch).

Pure functions, no database: ``optimizer`` feeds them the review log, ``bench/fsrs_fit.py`` a simulated one.

- **Items.** The trainer learns from *items*: one card's reviews up to and including one review, whose
  last rating is the outcome to predict from the ones before. Each review after a card's first gives
  one item, once the card has been reviewed on a later day than its first (the trainer refuses
items of same-day steps only). ``delta_t`` is whole days since the card's previous review, counted exactly as our
  scheduler counts them (``fsrs.Scheduler`` uses ``(now - last_review).days``), so the weights fitted
  here describe the same intervals the scheduler then uses.
- **Held-out check.** A fit is judged on the learner's most recent reviews, which it never saw: the
  reviews are split by time (the last ``HOLDOUT_SHARE`` of them), the candidate is trained on items
  ending before the split, and each weight set is scored by the trainer's own evaluation (log-loss and
  RMSE over bins, the srs-benchmark metrics) on the items ending after it. A candidate is kept only if
  it predicts those reviews better than the weights in use now (docs/flashcards.md, "Fitted memory").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import fsrs_rs_python as rs
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

HOLDOUT_SHARE = 0.2
# Anki's trainer settings; the seed makes a fit repeatable.
TRAINING = {"num_epochs": 5, "batch_size": 512, "seed": 2023}


@dataclass(frozen=True)
class Review:
    """One row of a review log, as the fit needs it. ``card`` must be unique per learner and card."""

    card: int
    rating: int  # 1 Again .. 4 Easy
    at: datetime


@dataclass(frozen=True)
class Split:
    train: list[rs.FSRSItem]
    test: list[rs.FSRSItem]  # each ends with a review on a later day than the one before


@dataclass(frozen=True)
class Score:
    log_loss: float
    rmse_bins: float


@dataclass(frozen=True)
class Fit:
    parameters: list[float]
    candidate: Score  # the new weights on the held-out reviews
    current: Score  # the weights in use now on the same reviews
    train_items: int
    test_items: int

    @property
    def better(self) -> bool:
        return self.candidate.log_loss < self.current.log_loss


def _by_card(reviews: Iterable[Review]) -> dict[int, list[Review]]:
    cards: dict[int, list[Review]] = {}
    for review in sorted(reviews, key=lambda r: (r.at, r.card)):
        cards.setdefault(review.card, []).append(review)
    return cards


def items_split(reviews: Sequence[Review], *, holdout: float = HOLDOUT_SHARE) -> Split:
    """Items ending before the time split (to train on) and after it (to judge), from one review log."""
    times = sorted(r.at for r in reviews)
    cutoff = times[min(len(times) - 1, int(len(times) * (1 - holdout)))] if times else None
    train: list[rs.FSRSItem] = []
    test: list[rs.FSRSItem] = []
    for history in _by_card(reviews).values():
        steps: list[rs.FSRSReview] = []
        previous: datetime | None = None
        for review in history:
            delta = 0 if previous is None else (review.at - previous).days
            steps.append(rs.FSRSReview(review.rating, delta))
            previous = review.at
            if len(steps) < 2:
                continue
            item = rs.FSRSItem(list(steps))
            if item.long_term_review_cnt() == 0:  # the trainer learns nothing from same-day steps alone
                continue
            if cutoff is not None and review.at >= cutoff:
                # Judged only where recall over days is predicted (the evaluation refuses same-day outcomes).
                if delta > 0:
                    test.append(item)
            else:
                train.append(item)
    return Split(train=train, test=test)


def score(parameters: Sequence[float], items: Sequence[rs.FSRSItem]) -> Score:
    """Log-loss and RMSE (bins) of these weights' predicted recall on these items' last reviews."""
    evaluation = rs.FSRS(list(parameters)).evaluate(list(items))
    return Score(log_loss=float(evaluation.log_loss), rmse_bins=float(evaluation.rmse_bins))


def train(items: Sequence[rs.FSRSItem]) -> list[float]:
    """The trainer's weights for these items (the defaults when there is too little to learn from)."""
    config = rs.TrainingConfig(**TRAINING)
    weights = rs.FSRS(list(rs.DEFAULT_PARAMETERS)).compute_parameters(list(items), training_config=config)
    # The trainer works in float32: a weight at its bound can land a hair outside fsrs's (float64) bounds,
    # which fsrs's Scheduler refuses. Clip to fsrs's bounds (a change below 1e-7).
    return [
        min(max(float(w), low), high)
        for w, low, high in zip(weights, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    ]


def fit(reviews: Sequence[Review], *, current: Sequence[float]) -> Fit | None:
    """Train on the older reviews, compare with ``current`` on the newer; None when nothing can be judged."""
    split = items_split(reviews)
    if not split.train or not split.test:
        return None
    parameters = train(split.train)
    return Fit(
        parameters=parameters,
        candidate=score(parameters, split.test),
        current=score(current, split.test),
        train_items=len(split.train),
        test_items=len(split.test),
    )


def default_parameters() -> list[float]:
    return [float(w) for w in rs.DEFAULT_PARAMETERS]
