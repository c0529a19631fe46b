"""Celery tasks of grade passback: thin, ids in; the services do the work."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import selectors
from .passback import score_post


@shared_task(name="grading.score_post")
def score_post_task(score_id: int) -> str:
    """Post one score (and other due scores of its platform); retries are enqueued with their backoff."""
    return score_post(score_id=score_id).state


@shared_task(name="grading.scores_sweep")
def scores_sweep_task() -> int:
    """Re-enqueue pending scores overdue by more than a sweep period: a lost message, a broker that
    was down at submit time, or a worker that died holding the lease."""
    if not settings.GRADING_PASSBACK_ENABLED:
        return 0
    before = timezone.now() - timedelta(seconds=settings.GRADING_SWEEP_SECONDS)
    ids = selectors.score_ids_due(before=before)
    for score_id in ids:
        score_post_task.delay(score_id)
    return len(ids)
