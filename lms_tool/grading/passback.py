"""Posting scores from the outbox to the platform (AGS §3.4), and what its answers mean.

- A worker claims the score it was asked for and, with it, up to ``GRADING_POST_BATCH`` other due
  scores of the same platform, in one UPDATE with a lease: two workers never post one score at once,
  and a worker that dies leaves its batch to the sweep once the lease runs out. The batch goes out
  over one connection and one cached token, and its results are recorded in one transaction.
- ``ServiceUnavailable`` (network, timeout, 5xx, 429) ends the batch: that score is retried with
  exponential backoff and full jitter, never sooner than ``Retry-After`` (after
  ``GRADING_MAX_ATTEMPTS`` it is a dead letter), and the rest of the batch waits as long, untried.
- ``ServiceRefused`` will not change by retrying (400 older timestamp, 404 line item gone, 422 user
  not gradable): recorded with the reason. A 409 (Moodle's "repeated timestamp") means the platform
  already has this score or a newer one: done.
- Posting twice is harmless: the timestamp is the score's own, so the platform takes it once. That
  is what lets a batch be recorded after it is sent: a crash in between only means a second post.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Max
from django.utils import timezone

from lms_tool.lti import ags
from lms_tool.lti import service_client as sc

from .line_items import LineItemUnknown, line_item_url_ensure
from .models import PassbackState, Score
from .settle import Attempt, PostOutcome, batch_settle

REASONS = {
    400: "The platform refused the score as invalid (often: its timestamp is older than one it has).",
    401: "The platform refused the tool's access token twice: check the registration's client id and keys.",
    403: "The platform did not allow the tool to post scores (the score scope may have been removed).",
    404: "The gradebook column no longer exists in the platform (line item deleted).",
    422: "The platform says this person cannot be graded in the course (not a student there any more?).",
}


def _claim(score_id: int) -> list[Score]:
    """Claim the score and other due scores of its platform (oldest first); the batch, in submission order."""
    now = timezone.now()
    if not Score.objects.due(now).filter(pk=score_id).exists():
        return []  # a batch has taken it already: the common answer for a score's own task, so cheap
    registration_id = (
        Score.objects.filter(pk=score_id).values_list("line_item__resource_link__context__registration_id", flat=True)
    ).first()
    if registration_id is None:
        return []
    others = (
        Score.objects.due(now)
        .filter(line_item__resource_link__context__registration_id=registration_id)
        .exclude(pk=score_id)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[: max(settings.GRADING_POST_BATCH - 1, 0)]
    )
    claim = uuid.uuid4()
    lease = now + timedelta(seconds=settings.GRADING_LEASE_SECONDS)
    Score.objects.filter(
        pk__in=[score_id, *others], passback_state=PassbackState.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease, claimed_at=now, claim=claim, attempts=F("attempts") + 1)
    related = ("user", "resource_link", "line_item__resource_link__context__registration")
    return list(Score.objects.filter(claim=claim).select_related(*related).order_by("pk"))


def _newest_in_slots(batch: list[Score]) -> dict[tuple[int, int], int]:
    """The newest score still to be posted or posted, per learner and line item of the batch."""
    rows = (
        Score.objects.filter(
            line_item__in={s.line_item_id for s in batch},
            user__in={s.user_id for s in batch},
            passback_state__in=[PassbackState.PENDING, PassbackState.POSTED],
        )
        .values("line_item", "user")
        .annotate(newest=Max("pk"))
    )
    return {(r["line_item"], r["user"]): r["newest"] for r in rows}


def attempt_post(score: Score) -> Attempt:
    """POST one score and sort the platform's answer."""
    registration = score.line_item.resource_link.context.registration
    try:
        url = line_item_url_ensure(line_item=score.line_item)
        status = ags.score_post(registration, url, score.as_ags_score(family=registration.family))
    except sc.ServiceUnavailable as exc:
        if score.attempts >= settings.GRADING_MAX_ATTEMPTS:
            error = f"gave up after {score.attempts} attempts: {exc}"
            return Attempt(PassbackState.DEAD, exc.status, exc.body, error, unavailable=True)
        delay = sc.backoff(
            score.attempts,
            retry_after=exc.retry_after,
            base=settings.GRADING_RETRY_BASE_SECONDS,
            cap=settings.GRADING_RETRY_CAP_SECONDS,
        )
        return Attempt(PassbackState.PENDING, exc.status, exc.body, str(exc), retry_in=delay, unavailable=True)
    except sc.ServiceRefused as exc:
        if exc.status == 409:
            return Attempt(PassbackState.POSTED, 409, exc.body, "the platform already had this score (409)")
        if Score.objects.filter(
            line_item=score.line_item_id, user=score.user_id, pk__gt=score.pk, passback_state=PassbackState.POSTED
        ).exists():
            # Two workers raced and the newer score got there first: the platform was right to refuse.
            return Attempt(
                PassbackState.SUPERSEDED,
                exc.status,
                exc.body,
                "refused because a newer score of this learner was posted first",
            )
        return Attempt(
            PassbackState.FAILED,
            exc.status,
            exc.body,
            REASONS.get(exc.status or 0, f"The platform refused the score ({exc})."),
        )
    except LineItemUnknown as exc:
        return Attempt(PassbackState.FAILED, error=str(exc))
    return Attempt(PassbackState.POSTED, status)


def score_post(*, score_id: int) -> PostOutcome:
    """Post this score now, with the other due scores of its platform; says what became of this one."""
    batch = _claim(score_id)
    if not batch:
        return PostOutcome("skipped")
    newest = _newest_in_slots(batch)
    attempts: dict[int, Attempt] = {}
    deadline = time.monotonic() + settings.GRADING_LEASE_SECONDS / 2  # record well before the lease ends
    for score in batch:
        if time.monotonic() > deadline:
            break
        if newest.get((score.line_item_id, score.user_id), score.pk) > score.pk:
            attempts[score.pk] = Attempt(PassbackState.SUPERSEDED, error="a newer score of this learner replaced it")
            continue
        attempts[score.pk] = attempt_post(score)
        if attempts[score.pk].unavailable:
            break
    outcomes = batch_settle(batch, attempts)
    return outcomes.get(score_id, PostOutcome("skipped"))
