"""FSRS weights fitted to each learner's review log, and to a deck's pooled log for learners with few reviews.

The periodic task ``flashcards.optimize_parameters`` (daily, settings ``CELERY_BEAT_SCHEDULE``) calls
``parameters_fit_due``. The trainer is ``fsrs-rs-python`` (``fitting``): no torch. A learner is fitted once
they have ``OPTIMIZER_MIN_REVIEWS`` reviews, and again when they have a quarter more than at the last try;
a deck once the learners without weights of their own have ``OPTIMIZER_MIN_DECK_REVIEWS`` between them.
Each try is recorded (``ParameterFit``); the new weights replace the ones in use only when they predict
the held-out (most recent) reviews better. The scheduler then uses, for a learner in a deck: the
learner's weights, else the deck's, else fsrs's defaults (``parameters_for``).

A refit never changes a grade already posted: it writes no memory state (each card keeps the stability
and difficulty computed at its last review) and recall grades use the default forgetting curve
(``grades.deck_progress``), so only the intervals of reviews made after it change.
"""

from __future__ import annotations

import logging
from datetime import datetime
from importlib.metadata import version

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from lms_tool.lti.models import LtiUser

from . import fitting
from .models import Deck, DeckParameters, LearnerParameters, ParameterFit, ReviewLog

logger = logging.getLogger(__name__)
REFIT_GROWTH = 1.25  # try again once there are a quarter more reviews than at the last try


def _config(name: str, default: int) -> int:
    return int(getattr(settings, "FLASHCARDS", {}).get(name, default))


def trainer_name() -> str:
    return f"fsrs-rs-python {version('fsrs-rs-python')}"


def parameters_for(*, learner: LtiUser, deck: Deck) -> list[float] | None:
    """The weights the scheduler uses for this learner in this deck; None means fsrs's defaults."""
    own = LearnerParameters.objects.filter(learner=learner).values_list("parameters", flat=True).first()
    if own is not None:
        return list(own)
    pooled = DeckParameters.objects.filter(deck=deck).values_list("parameters", flat=True).first()
    return list(pooled) if pooled is not None else None


def _due(counts: dict[int, int], tried: dict[int, int]) -> list[int]:
    return [pk for pk, n in sorted(counts.items()) if pk not in tried or n >= tried[pk] * REFIT_GROWTH]


def learners_to_fit(*, limit: int) -> list[int]:
    """Learners with enough reviews and no try yet, or a quarter more reviews than at their last try."""
    minimum = _config("OPTIMIZER_MIN_REVIEWS", 400)
    counts = dict(
        ReviewLog.objects.values("learner").annotate(n=Count("id")).filter(n__gte=minimum).values_list("learner", "n")
    )
    tried = dict(
        ParameterFit.objects.filter(learner__in=list(counts))
        .values("learner")
        .annotate(n=Max("review_count"))
        .values_list("learner", "n")
    )
    return _due(counts, tried)[:limit]


def _pooled(deck_pk: int):  # type: ignore[no-untyped-def]
    """The deck's reviews by learners who have no weights of their own."""
    return ReviewLog.objects.filter(deck_id=deck_pk).exclude(learner__in=LearnerParameters.objects.values("learner"))


def decks_to_fit(*, limit: int) -> list[int]:
    minimum = _config("OPTIMIZER_MIN_DECK_REVIEWS", 1000)
    counts = dict(
        ReviewLog.objects.exclude(learner__in=LearnerParameters.objects.values("learner"))
        .values("deck")
        .annotate(n=Count("id"))
        .filter(n__gte=minimum)
        .values_list("deck", "n")
    )
    tried = dict(
        ParameterFit.objects.filter(deck__in=list(counts))
        .values("deck")
        .annotate(n=Max("review_count"))
        .values_list("deck", "n")
    )
    return _due(counts, tried)[:limit]


def _record(*, fit: fitting.Fit, reviews: int, now: datetime, **subject: object) -> ParameterFit:
    return ParameterFit.objects.create(
        **subject,
        fitted_at=now,
        review_count=reviews,
        train_items=fit.train_items,
        test_items=fit.test_items,
        parameters=fit.parameters,
        candidate_log_loss=fit.candidate.log_loss,
        candidate_rmse=fit.candidate.rmse_bins,
        current_log_loss=fit.current.log_loss,
        current_rmse=fit.current.rmse_bins,
        kept=fit.better,
        trainer=trainer_name(),
    )


def learner_parameters_fit(*, learner: LtiUser, now: datetime | None = None) -> ParameterFit | None:
    """Try a fit of the learner's whole log; keep it if it predicts their newest reviews better.

    None when the log cannot be judged (no later-day review after the split)."""
    now = now or timezone.now()
    reviews = [
        fitting.Review(card=card, rating=rating, at=at)
        for card, rating, at in ReviewLog.objects.filter(learner=learner).values_list(
            "card_id", "rating", "reviewed_at"
        )
    ]
    current = LearnerParameters.objects.filter(learner=learner).values_list("parameters", flat=True).first()
    fit = fitting.fit(reviews, current=current or fitting.default_parameters())
    if fit is None:
        return None
    with transaction.atomic():
        attempt = _record(fit=fit, reviews=len(reviews), now=now, learner=learner)
        if fit.better:
            LearnerParameters.objects.update_or_create(
                learner=learner,
                defaults={"parameters": fit.parameters, "review_count": len(reviews), "optimized_at": now},
            )
    logger.info(
        "FSRS fit of learner %s from %d reviews: held-out log-loss %.4f vs %.4f in use, %s",
        learner.pk,
        len(reviews),
        fit.candidate.log_loss,
        fit.current.log_loss,
        "kept" if fit.better else "not kept",
    )
    return attempt


def deck_parameters_fit(*, deck: Deck, now: datetime | None = None) -> ParameterFit | None:
    """Try a fit of the pooled reviews of the deck's learners who have no weights of their own."""
    now = now or timezone.now()
    # Each (learner, card) is its own memory: number them so two learners' reviews of a card stay apart.
    sequences: dict[tuple[int, int], int] = {}
    reviews = []
    for learner_pk, card, rating, at in _pooled(deck.pk).values_list("learner_id", "card_id", "rating", "reviewed_at"):
        key = sequences.setdefault((learner_pk, card), len(sequences))
        reviews.append(fitting.Review(card=key, rating=rating, at=at))
    learners = len({learner for learner, _ in sequences})
    current = DeckParameters.objects.filter(deck=deck).values_list("parameters", flat=True).first()
    fit = fitting.fit(reviews, current=current or fitting.default_parameters())
    if fit is None:
        return None
    with transaction.atomic():
        attempt = _record(fit=fit, reviews=len(reviews), now=now, deck=deck)
        if fit.better:
            DeckParameters.objects.update_or_create(
                deck=deck,
                defaults={
                    "parameters": fit.parameters,
                    "review_count": len(reviews),
                    "learner_count": learners,
                    "optimized_at": now,
                },
            )
    return attempt


def parameters_fit_due(*, limit: int = 200) -> int:
    """Try the learners, then the decks, that are due for a fit; the number of tries made."""
    tries = 0
    for pk in learners_to_fit(limit=limit):
        tries += learner_parameters_fit(learner=LtiUser.objects.get(pk=pk)) is not None
    for pk in decks_to_fit(limit=limit):
        tries += deck_parameters_fit(deck=Deck.objects.get(pk=pk)) is not None
    return tries
