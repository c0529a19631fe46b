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

import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Max
from django.utils import timezone

from lms_tool.lti import ags
from lms_tool.lti import service_client as sc
from lms_tool.lti.models import Registration

from .line_items import LineItemUnknown, line_item_url_ensure
from .models import PassbackState, Score
from .queue import enqueue
from .settle import Attempt, PostOutcome, batch_settle, platform_held_for

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
    held = platform_held_for(registration_id)
    if held > 0:
        # The platform asked to slow down (429): this score waits out the hold, untried and uncounted.
        Score.objects.filter(pk=score_id, passback_state=PassbackState.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=now + timedelta(seconds=held)
        )
        enqueue(score_id, countdown=held)
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
    except LineItemUnknown as exc:
        return Attempt(PassbackState.FAILED, error=str(exc))
    except (sc.ServiceUnavailable, sc.ServiceRefused) as exc:  # creating the line item met the platform's error
        return attempt_sort(score, exc)
    return attempt_sort(score, _send(registration, url, score.as_ags_score(family=registration.family)))


def _send(registration: Registration, url: str, payload: dict[str, Any]) -> int | Exception:
    """The HTTP part of a post, safe in a thread (no database: the token is in the process's memo, the
    connection is the thread's own in ``core.http``): the status, or the service error to sort."""
    try:
        return ags.score_post(registration, url, payload)
    except (sc.ServiceUnavailable, sc.ServiceRefused) as exc:
        return exc


def attempt_sort(score: Score, sent: int | Exception) -> Attempt:
    """What the platform's answer (or the failure to reach it) means for this score."""
    try:
        if isinstance(sent, Exception):
            raise sent
        status = sent
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
    return Attempt(PassbackState.POSTED, status)


def score_post(*, score_id: int) -> PostOutcome:
    """Post this score now, with the other due scores of its platform; says what became of this one."""
    batch = _claim(score_id)
    if not batch:
        return PostOutcome("skipped")
    newest = _newest_in_slots(batch)
    attempts: dict[int, Attempt] = {}
    deadline = time.monotonic() + settings.GRADING_LEASE_SECONDS / 2  # record well before the lease ends
    in_flight = max(1, int(settings.GRADING_POSTS_IN_FLIGHT))
    to_post: list[Score] = []
    for score in batch:
        if newest.get((score.line_item_id, score.user_id), score.pk) > score.pk:
            attempts[score.pk] = Attempt(PassbackState.SUPERSEDED, error="a newer score of this learner replaced it")
        else:
            to_post.append(score)
    if in_flight == 1:
        for score in to_post:
            if time.monotonic() > deadline:
                break
            attempts[score.pk] = attempt_post(score)
            if attempts[score.pk].unavailable:
                break
    else:
        _post_in_flight(to_post, attempts, in_flight=in_flight, deadline=deadline)
    outcomes = batch_settle(batch, attempts)
    return outcomes.get(score_id, PostOutcome("skipped"))


def _post_in_flight(batch: list[Score], attempts: dict[int, Attempt], *, in_flight: int, deadline: float) -> None:
    """Post ``batch`` (one platform's) with up to ``in_flight`` posts at once, in rounds of that many.

    The first score goes alone, as a probe: a platform that is down costs one request per batch, as one at a
    time. The database work (line item URLs, sorting the answers) stays on this thread; the other threads only
    send, each over its own kept connection with the token this thread fetched first. A platform that is
    unavailable (5xx, 429 with its Retry-After, timeouts) ends the batch after the round that met it: the rest
    waits untried. The cap holds per worker process and platform (a batch is one platform's)."""
    if not batch:
        return
    probe, batch = batch[0], batch[1:]
    attempts[probe.pk] = attempt_post(probe)
    if attempts[probe.pk].unavailable or not batch:
        return
    registration = probe.line_item.resource_link.context.registration
    # The token once here, so no sending thread asks for it; a failure is met again and sorted by the first post.
    with contextlib.suppress(sc.ServiceUnavailable, sc.ServiceRefused):
        sc.access_token(registration, (sc.SCOPE_SCORE,))
    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="passback") as pool:
        for start in range(0, len(batch), in_flight):
            if time.monotonic() > deadline:
                return
            ready: list[tuple[Score, str, dict[str, Any]]] = []
            for score in batch[start : start + in_flight]:
                try:
                    url = line_item_url_ensure(line_item=score.line_item)
                except LineItemUnknown as exc:
                    attempts[score.pk] = Attempt(PassbackState.FAILED, error=str(exc))
                    continue
                except (sc.ServiceUnavailable, sc.ServiceRefused) as exc:
                    attempts[score.pk] = attempt_sort(score, exc)
                    if attempts[score.pk].unavailable:
                        return
                    continue
                ready.append((score, url, score.as_ags_score(family=registration.family)))
            sent = list(pool.map(lambda item: _send(registration, item[1], item[2]), ready))
            unavailable = False
            for (score, _, _), answer in zip(ready, sent, strict=True):
                attempts[score.pk] = attempt_sort(score, answer)
                unavailable = unavailable or attempts[score.pk].unavailable
            if unavailable:
                return
