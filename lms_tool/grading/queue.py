"""Handing scores to the Celery worker, after the transaction that made them due commits.

A new score's post is queued once per platform at a time (docs/architecture.md, "Queueing a new score's post").
A posting task claims the due scores of its platform in one batch (grading/passback.py), so while one is queued and
has not claimed yet, a new score of that platform will be in its batch: queueing another task would only make the
worker find the score taken. A mark in the shared cache says "a post of this platform is queued"; the task clears
it before it claims, so a score committed before the clearing is claimed by that task, and a score after it queues
a new one.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError

from lms_tool.core.queue import task_send

logger = logging.getLogger(__name__)

# The mark outlives a queued task by this much at most: a task lost with its message (the sweep posts its scores)
# keeps the platform's new scores from queueing their own for no longer than this.
MARK_SECONDS = 30


def _mark(registration_id: int) -> str:
    return f"grading:post-queued:{registration_id}"


def enqueue(score_id: int, *, countdown: float | None = None, registration_id: int | None = None) -> None:
    """Post the score after commit (after ``countdown`` seconds); if the broker is down, the sweep will.

    ``registration_id``: the score's platform. The task then claims that platform's due scores even if this one is
    not due any more (grading/passback.py), and for a new score (no ``countdown``) nothing is queued while a post of
    the platform is queued and has not claimed its batch yet (``GRADING_POSTS_QUEUED_ONCE``)."""
    if not settings.GRADING_PASSBACK_ENABLED:
        return
    if not settings.GRADING_POSTS_QUEUED_ONCE:
        registration_id = None
    mark = _mark(registration_id) if registration_id is not None and countdown is None else None

    def send() -> None:
        if mark is not None:
            try:
                if not cache.add(mark, score_id, MARK_SECONDS):
                    return  # the queued post of this platform has not claimed yet: this score will be in its batch
            except Exception:  # noqa: BLE001 - the cache unreachable: the post is queued, as without the mark
                logger.warning("could not mark the post of score %s as queued; queueing it anyway", score_id)
        platform = {} if registration_id is None else {"registration_id": registration_id}
        try:
            task_send("grading.score_post", score_id, countdown=countdown, **platform)
        except OperationalError:
            if mark is not None:
                _drop(mark)  # nothing is queued: the next score of this platform queues its post
            logger.warning("could not enqueue the posting of score %s; the sweep will post it", score_id)

    transaction.on_commit(send)


def mark_clear(registration_id: int) -> None:
    """The platform's queued post is about to claim its batch: a score committed from now on queues a new post."""
    _drop(_mark(registration_id))


def _drop(mark: str) -> None:
    try:
        cache.delete(mark)
    except Exception:  # noqa: BLE001 - the mark then runs out by itself, within MARK_SECONDS
        logger.warning("could not clear the queued-post mark %s", mark)
