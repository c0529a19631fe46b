"""Recording what a batch of posts came to: states, the audit log, domain events, follow-ups.

One transaction per batch. A score that changed while it was in flight (a review decided it: a new
timestamp) keeps its new version, which its own task posts; this answer was about the old one.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from lms_tool.core import lean
from lms_tool.core.events import event_record_many
from lms_tool.core.services import audit_record_many

from .models import PassbackState, Score
from .queue import enqueue

logger = logging.getLogger(__name__)

FIELDS = [
    "passback_state",
    "claimed_at",
    "claim",
    "last_status",
    "last_response",
    "last_error",
    "next_attempt_at",
    "posted_at",
    "updated_at",
]
ACTIONS: dict[str, str] = {
    PassbackState.POSTED: "score.posted",
    PassbackState.PENDING: "score.retry_scheduled",
    PassbackState.DEAD: "score.dead_lettered",
    PassbackState.FAILED: "score.refused",
    PassbackState.SUPERSEDED: "score.superseded",
}


@dataclass(frozen=True)
class PostOutcome:
    state: str  # the score's passback state after this attempt; "skipped" when it was not ours to post
    retry_in: float | None = None


@dataclass(frozen=True)
class Attempt:
    """What one POST of one score came to."""

    state: str
    status: int | None = None
    body: str = ""
    error: str = ""
    retry_in: float | None = None
    unavailable: bool = False  # the platform is in trouble: stop the batch


# A platform that answers 429 has asked the tool to slow down: not only that score but every score for that
# platform waits out its Retry-After (or the backoff, if longer), on every worker process, while other
# platforms' scores go on (docs/benchmarks.md, "Grade passback"). Kept in the shared cache; if it is lost, the next post is a probe.
HOLD_PREFIX = "grading:hold:"


def platform_hold(registration_id: int, seconds: float) -> None:
    """No score of this platform is posted for ``seconds`` (by any worker sharing the cache)."""
    cache.set(f"{HOLD_PREFIX}{registration_id}", time.time() + seconds, max(1, math.ceil(seconds)))


def platform_held_for(registration_id: int) -> float:
    """Seconds left of the platform's hold (0: none)."""
    until = cache.get(f"{HOLD_PREFIX}{registration_id}")
    return max(0.0, float(until) - time.time()) if isinstance(until, int | float) else 0.0


@transaction.atomic
def batch_settle(batch: list[Score], attempts: dict[int, Attempt]) -> dict[int, PostOutcome]:
    """Record each attempt; scores of the batch that were not tried wait as long as the one that failed."""
    rows = _locked([s.pk for s in batch])
    now = timezone.now()
    tried = [a for a in attempts.values() if a.unavailable]
    wait = tried[-1].retry_in if tried and tried[-1].retry_in is not None else 0.0
    if any(a.status == 429 for a in tried) and wait > 0:
        platform_hold(batch[0].line_item.resource_link.context.registration_id, wait)
    outcomes: dict[int, PostOutcome] = {}
    events: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    settled: list[Score] = []
    untried: list[int] = []
    for score in batch:
        row, attempt = rows[score.pk], attempts.get(score.pk)
        if (
            row.claim != score.claim  # our lease ran out and another worker took it: its answer counts
            or row.timestamp != score.timestamp
            or row.passback_state not in (PassbackState.PENDING, PassbackState.SUPERSEDED)
        ):
            audits.append(_audit(score, "score.attempt_outdated", attempt))
            outcomes[score.pk] = PostOutcome(row.passback_state)
        elif attempt is None:
            untried.append(row.pk)
            outcomes[score.pk] = PostOutcome(PassbackState.PENDING, wait)
        else:
            outcomes[score.pk] = _settle_one(row, score, attempt, now, events, audits)
            settled.append(row)
    _save(settled)
    if untried:
        _release(untried, tried[-1] if tried else None, now + timedelta(seconds=wait))
    audit_record_many(records=audits)
    if events:
        event_record_many(events=events)
    # A score that had been kept waiting by a failure got through: the platform is back.
    recovered = [s for s in batch if outcomes[s.pk].state == PassbackState.POSTED and s.last_error]
    if recovered:
        _pull_forward(recovered[0].line_item.resource_link.context.registration_id, now)
    for score_id, outcome in outcomes.items():
        if outcome.state == PassbackState.PENDING:
            enqueue(score_id, countdown=outcome.retry_in)
    return outcomes


def _locked(ids: list[int]) -> dict[int, Score]:
    """``Score.objects.select_for_update().in_bulk(ids)`` as one plain statement (lean.rows_from): the rows as
    they are now, locked until the batch is recorded (SQLite has no row locks: its writes are serialised)."""
    connection = connections[router.db_for_write(Score)]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    tail = f"FROM {Score._meta.db_table} s WHERE s.id IN ({', '.join(['%s'] * len(ids))}){lock}"
    return {row.pk: row for row in lean.rows_from(Score, "s", tail, list(ids))}


def _save(rows: list[Score]) -> None:
    """One UPDATE per set of equal new values: in a good batch, one for all of it."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, f) for f in FIELDS), []).append(row.pk)
    for values, ids in groups.items():
        Score.objects.filter(pk__in=ids).update(**dict(zip(FIELDS, values, strict=True)))


def _release(ids: list[int], failed: Attempt | None, until: datetime) -> None:
    """Not tried (the platform failed earlier in the batch, or the lease was running out): no attempt
    counted; after a failure they wait as long as the score that failed."""
    changes: dict[str, Any] = {
        "attempts": F("attempts") - 1,
        "claimed_at": None,
        "claim": None,
        "next_attempt_at": until,
    }
    if failed is not None:
        changes.update(
            last_status=failed.status, last_error=f"not tried: the platform failed just before ({failed.error})"[:2000]
        )
    Score.objects.filter(pk__in=ids, passback_state=PassbackState.PENDING).update(**changes)


def _settle_one(
    row: Score,
    score: Score,
    attempt: Attempt,
    now: datetime,
    events: list[dict[str, Any]],
    audits: list[dict[str, Any]],
) -> PostOutcome:
    """Set the row's new state (saved with the batch); add its audit line and domain event (written with it)."""
    state, retry_in = attempt.state, attempt.retry_in
    if row.passback_state == PassbackState.SUPERSEDED and state != PassbackState.POSTED:
        state, retry_in = PassbackState.SUPERSEDED, None  # replaced while in flight: nothing left to do
    row.updated_at = now
    row.passback_state, row.last_status = state, attempt.status
    row.last_response, row.last_error = attempt.body[:2000], attempt.error[:2000]
    row.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in is not None else None
    row.claimed_at, row.claim = None, None
    if state == PassbackState.POSTED:
        row.posted_at = now
    row.user, row.line_item, row.resource_link = score.user, score.line_item, score.resource_link
    audits.append(_audit(row, ACTIONS[state], attempt, retry_in=retry_in))
    context_pk = score.resource_link.context_id
    if state == PassbackState.POSTED:
        events.append(
            {
                "type": "score.posted",
                "subject_type": "score",
                "subject_id": row.pk,
                "data": row.event_data(),
                "context_pk": context_pk,
            }
        )
    elif state in (PassbackState.DEAD, PassbackState.FAILED):
        events.append(
            {
                "type": "passback.dead_lettered",
                "subject_type": "score",
                "subject_id": row.pk,
                "data": {**row.event_data(), "reason": attempt.error, "platform_status": attempt.status},
                "context_pk": context_pk,
            }
        )
        logger.warning("score %s not posted (%s): %s", row.pk, state, attempt.error)
    return PostOutcome(state, retry_in)


def _audit(score: Score, action: str, attempt: Attempt | None, **extra: object) -> dict[str, Any]:
    return dict(
        actor_type="system",
        action=action,
        object_type="score",
        object_id=score.pk,
        source="grading",
        after={
            "attempt": score.attempts,
            "status": attempt.status if attempt else None,
            "error": attempt.error[:500] if attempt else "",
            "line_item": score.line_item.url,
            **extra,
        },
    )


def _pull_forward(registration_id: int, now: datetime) -> None:
    """The platform is back. Scores of the same platform waiting out a failure (a pending score due later
    than now is one, unless a worker holds it) become due now, a batch at a time (each recovered success pulls the next),
    except those the platform asked to slow down (429) and those a worker holds."""
    waiting = (
        Score.objects.filter(
            passback_state=PassbackState.PENDING,
            claimed_at__isnull=True,
            next_attempt_at__gt=now,
            line_item__resource_link__context__registration_id=registration_id,
        )
        .exclude(last_status=429)
        .order_by("next_attempt_at")
    )
    ids = list(waiting.values_list("id", flat=True)[: settings.GRADING_RECOVERY_BATCH])
    if not ids:
        return
    Score.objects.filter(pk__in=ids, passback_state=PassbackState.PENDING, claimed_at__isnull=True).update(
        next_attempt_at=now
    )
    for score_id in ids:
        enqueue(score_id)
