"""Celery tasks of grade passback: thin, ids in; the services do the work."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone

from . import selectors
from .passback import score_post

logger = logging.getLogger(__name__)


# A task that found the database unreachable asks again this soon (doubling, with jitter), up to
# GRADING_DATABASE_RETRIES times: left to the sweep, its score would wait up to GRADING_SWEEP_SECONDS after the
# database is back.
DATABASE_RETRY_FIRST_SECONDS = 0.5
DATABASE_RETRY_CAP_SECONDS = 10.0


@shared_task(name="grading.score_post", bind=True)
def score_post_task(self: Task, score_id: int, registration_id: int | None = None) -> str:
    """Post one score (and other due scores of its platform); retries are enqueued with their backoff. If the
    database is unreachable the score is safe in the outbox, and this task asks again shortly. ``registration_id``:
    the platform's queued post (grading/queue.py)."""
    try:
        return score_post(score_id=score_id, registration_id=registration_id).state
    except (OperationalError, InterfaceError) as exc:
        delay = min(DATABASE_RETRY_FIRST_SECONDS * 2**self.request.retries, DATABASE_RETRY_CAP_SECONDS)
        logger.warning(
            "posting score %s: the database is unavailable (%s); asking again in %.1f s", score_id, exc, delay
        )
        connections.close_all()  # the broken connections: the next attempt opens new ones
        raise self.retry(
            countdown=random.uniform(delay / 2, delay), max_retries=settings.GRADING_DATABASE_RETRIES
        ) from exc


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
