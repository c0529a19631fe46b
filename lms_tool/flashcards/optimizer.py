"""Optional: FSRS weights fitted to each learner's own review log (needs ``pip install "fsrs[optimizer]"``).

The core never imports this module's heavy dependency (torch, via ``fsrs.optimizer``) at import time:
scheduling works with the default weights, and with fitted ones once this has run. The periodic task
``flashcards.optimize_parameters`` calls ``parameters_fit_due`` and does nothing when the extra is absent.
"""

from __future__ import annotations

import importlib.util
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from lms_tool.lti.models import LtiUser

from .models import LearnerParameters, ReviewLog

logger = logging.getLogger(__name__)


def _config(name: str, default: int) -> int:
    return int(getattr(settings, "FLASHCARDS", {}).get(name, default))


def optimizer_available() -> bool:
    """True when the ``fsrs[optimizer]`` extra (torch, pandas) is installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "pandas"))


def learners_to_fit(*, limit: int) -> list[int]:
    """Learners with enough reviews and no fit yet, or a quarter more reviews than their last fit used."""
    minimum = _config("OPTIMIZER_MIN_REVIEWS", 400)
    counts = dict(
        ReviewLog.objects.values("learner").annotate(n=Count("id")).filter(n__gte=minimum).values_list("learner", "n")
    )
    fitted = dict(LearnerParameters.objects.filter(learner__in=list(counts)).values_list("learner", "review_count"))
    due = [pk for pk, n in sorted(counts.items()) if pk not in fitted or n > fitted[pk] * 1.25]
    return due[:limit]


def learner_parameters_fit(*, learner: LtiUser, now: datetime | None = None) -> LearnerParameters:
    """Fit and store the learner's weights from their whole review log (slow: seconds per learner)."""
    import fsrs
    from fsrs.optimizer import Optimizer  # the optional extra, imported only here

    logs = [
        fsrs.ReviewLog(
            card_id=card_id, rating=fsrs.Rating(rating), review_datetime=at.astimezone(UTC), review_duration=duration
        )
        for card_id, rating, at, duration in ReviewLog.objects.filter(learner=learner)
        .order_by("reviewed_at", "pk")
        .values_list("card_id", "rating", "reviewed_at", "duration_ms")
    ]
    parameters = [float(p) for p in Optimizer(logs).compute_optimal_parameters()]
    fitted, _ = LearnerParameters.objects.update_or_create(
        learner=learner,
        defaults={"parameters": parameters, "review_count": len(logs), "optimized_at": now or timezone.now()},
    )
    return fitted


def parameters_fit_due(*, limit: int = 20) -> int:
    """Fit the learners who are due for it; 0 (and a log line) when the optional extra is not installed."""
    if not optimizer_available():
        logger.info('FSRS parameter optimisation skipped: install "fsrs[optimizer]" to enable it')
        return 0
    fitted = 0
    for pk in learners_to_fit(limit=limit):
        learner_parameters_fit(learner=LtiUser.objects.get(pk=pk))
        fitted += 1
    return fitted
