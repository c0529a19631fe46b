"""Handing scores to the Celery worker, after the transaction that made them due commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from lms_tool.core.queue import task_send

logger = logging.getLogger(__name__)


def enqueue(score_id: int, *, countdown: float | None = None) -> None:
    """Post the score after commit (after ``countdown`` seconds); if the broker is down, the sweep will."""
    if not settings.GRADING_PASSBACK_ENABLED:
        return

    def send() -> None:
        try:
            task_send("grading.score_post", score_id, countdown=countdown)
        except OperationalError:
            logger.warning("could not enqueue the posting of score %s; the sweep will post it", score_id)

    transaction.on_commit(send)
