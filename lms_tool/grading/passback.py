"""Posting one score from the outbox to the platform (AGS §3.4), and what its answer means.

- A score is claimed with a lease (one UPDATE), so two workers never post it at once and a worker
  that dies leaves it to the sweep once the lease runs out.
- ``ServiceUnavailable`` (network, timeout, 5xx, 429) is retried with exponential backoff and full
  jitter, never sooner than ``Retry-After``; after ``GRADING_MAX_ATTEMPTS`` it becomes a dead letter.
- ``ServiceRefused`` will not change by retrying (400 older timestamp, 404 line item gone, 422 user
  not gradable): recorded with the reason. A 409 (Moodle's "repeated timestamp") means the platform
  already has this score or a newer one: done.
- Posting twice is harmless: the timestamp is the score's own, so the platform takes it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from lms_tool.core.events import event_record
from lms_tool.core.services import audit_record
from lms_tool.lti import ags
from lms_tool.lti import service_client as sc

from .line_items import LineItemUnknown, line_item_url_ensure
from .models import PassbackState, Score

logger = logging.getLogger(__name__)
REASONS = {
    400: "The platform refused the score as invalid (often: its timestamp is older than one it has).",
    401: "The platform refused the tool's access token twice: check the registration's client id and keys.",
    403: "The platform did not allow the tool to post scores (the score scope may have been removed).",
    404: "The gradebook column no longer exists in the platform (line item deleted).",
    422: "The platform says this person cannot be graded in the course (not a student there any more?).",
}


@dataclass(frozen=True)
class PostOutcome:
    state: str  # the score's passback state after this attempt; "skipped" when it was not ours to post
    retry_in: float | None = None


def _claim(score_id: int) -> Score | None:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.GRADING_LEASE_SECONDS)
    claimed = Score.objects.filter(pk=score_id, passback_state=PassbackState.PENDING, next_attempt_at__lte=now).update(
        next_attempt_at=lease, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Score.objects.select_related("user", "line_item__resource_link__context__registration").get(pk=score_id)


def _newer_exists(score: Score, states: list[str]) -> bool:
    return Score.objects.filter(
        line_item=score.line_item_id, user=score.user_id, pk__gt=score.pk, passback_state__in=states
    ).exists()


def score_post(*, score_id: int) -> PostOutcome:
    """Try to post one pending score now; says whether (and when) to try again."""
    score = _claim(score_id)
    if score is None:
        return PostOutcome("skipped")
    if _newer_exists(score, [PassbackState.PENDING, PassbackState.POSTED]):
        return _settle(score, PassbackState.SUPERSEDED, error="a newer score of this learner replaced it")
    registration = score.line_item.resource_link.context.registration
    try:
        url = line_item_url_ensure(line_item=score.line_item)
        status = ags.score_post(registration, url, score.as_ags_score(family=registration.family))
    except sc.ServiceUnavailable as exc:
        return _after_unavailable(score, exc)
    except sc.ServiceRefused as exc:
        if exc.status == 409:
            return _settle(
                score,
                PassbackState.POSTED,
                status=409,
                body=exc.body,
                error="the platform already had this score (409): nothing to do",
            )
        return _after_refused(score, exc)
    except LineItemUnknown as exc:
        return _settle(score, PassbackState.FAILED, error=str(exc))
    return _settle(score, PassbackState.POSTED, status=status)


def _after_unavailable(score: Score, exc: sc.ServiceError) -> PostOutcome:
    if score.attempts >= settings.GRADING_MAX_ATTEMPTS:
        error = f"gave up after {score.attempts} attempts: {exc}"
        return _settle(score, PassbackState.DEAD, status=exc.status, body=exc.body, error=error)
    delay = sc.backoff(
        score.attempts,
        retry_after=exc.retry_after,
        base=settings.GRADING_RETRY_BASE_SECONDS,
        cap=settings.GRADING_RETRY_CAP_SECONDS,
    )
    return _settle(score, PassbackState.PENDING, status=exc.status, body=exc.body, error=str(exc), retry_in=delay)


def _after_refused(score: Score, exc: sc.ServiceError) -> PostOutcome:
    if _newer_exists(score, [PassbackState.POSTED]):
        # Two workers raced and the newer score got there first: the platform was right to refuse.
        return _settle(
            score,
            PassbackState.SUPERSEDED,
            status=exc.status,
            body=exc.body,
            error="refused because a newer score of this learner was posted first",
        )
    reason = REASONS.get(exc.status or 0, f"The platform refused the score ({exc}).")
    return _settle(score, PassbackState.FAILED, status=exc.status, body=exc.body, error=reason)


@transaction.atomic
def _settle(
    score: Score,
    state: str,
    *,
    status: int | None = None,
    body: str = "",
    error: str = "",
    retry_in: float | None = None,
) -> PostOutcome:
    """Record one attempt's result, unless the score changed under us (a review decided it meanwhile:
    its new version is posted by its own task, and this answer is about the old one)."""
    current = Score.objects.select_for_update().get(pk=score.pk)
    if current.timestamp != score.timestamp or current.passback_state not in (
        PassbackState.PENDING,
        PassbackState.SUPERSEDED,
    ):
        _audit(score, "score.attempt_outdated", status=status, error=error)
        return PostOutcome(current.passback_state)
    if current.passback_state == PassbackState.SUPERSEDED and state != PassbackState.POSTED:
        state, retry_in = PassbackState.SUPERSEDED, None  # replaced while in flight: nothing left to do
    now = timezone.now()
    current.passback_state, current.last_status = state, status
    current.last_response, current.last_error = body[:2000], error[:2000]
    current.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in is not None else None
    current.claimed_at = None
    if state == PassbackState.POSTED:
        current.posted_at = now
    current.save(
        update_fields=[
            "passback_state",
            "claimed_at",
            "last_status",
            "last_response",
            "last_error",
            "next_attempt_at",
            "posted_at",
            "updated_at",
        ]
    )
    _record(current, score, state, status=status, error=error, retry_in=retry_in)
    if state == PassbackState.POSTED and current.attempts > 1:
        _pull_forward(score.line_item.resource_link.context.registration_id, now)
    return PostOutcome(state, retry_in)


def _pull_forward(registration_id: int, now: datetime) -> None:
    """A score that had failed got through: the platform is back. Scores of the same platform that are
    waiting out their backoff become due now, a batch at a time (each recovered success pulls the next),
    except those the platform asked to slow down (429) and those a worker holds."""
    waiting = (
        Score.objects.filter(
            passback_state=PassbackState.PENDING,
            claimed_at__isnull=True,
            attempts__gt=0,
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


def enqueue(score_id: int) -> None:
    """Post the score after commit; if the broker is down, the sweep posts it later."""
    if not settings.GRADING_PASSBACK_ENABLED:
        return

    def send() -> None:
        from .tasks import score_post_task

        try:
            score_post_task.delay(score_id)
        except OperationalError:
            logger.warning("could not enqueue the posting of score %s; the sweep will post it", score_id)

    transaction.on_commit(send)


def _audit(score: Score, action: str, *, status: int | None, error: str, **extra: object) -> None:
    audit_record(
        actor_type="system",
        action=action,
        object_type="score",
        object_id=score.pk,
        source="grading",
        after={
            "attempt": score.attempts,
            "status": status,
            "error": error[:500],
            "line_item": score.line_item.url,
            **extra,
        },
    )


def _record(
    current: Score, score: Score, state: str, *, status: int | None, error: str, retry_in: float | None
) -> None:
    current.user, current.line_item, current.resource_link = score.user, score.line_item, score.line_item.resource_link
    context_pk = score.line_item.resource_link.context_id
    if state == PassbackState.POSTED:
        _audit(current, "score.posted", status=status, error=error)
        event_record(
            type="score.posted",
            subject_type="score",
            subject_id=current.pk,
            data=current.event_data(),
            context_pk=context_pk,
        )
    elif state == PassbackState.PENDING:
        _audit(current, "score.retry_scheduled", status=status, error=error, retry_in=retry_in)
    elif state in (PassbackState.DEAD, PassbackState.FAILED):
        _audit(
            current,
            "score.dead_lettered" if state == PassbackState.DEAD else "score.refused",
            status=status,
            error=error,
        )
        event_record(
            type="passback.dead_lettered",
            subject_type="score",
            subject_id=current.pk,
            data={**current.event_data(), "reason": error, "platform_status": status},
            context_pk=context_pk,
        )
        logger.warning("score %s not posted (%s): %s", current.pk, state, error)
    else:
        _audit(current, "score.superseded", status=status, error=error)
