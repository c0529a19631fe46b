"""Posting scores from the outbox to the platform (AGS §3.4), and what its answers mean.

- A worker claims the score it was asked for and, with it, up to ``GRADING_POST_BATCH`` other due
  scores of the same platform, in one UPDATE with a lease: two workers never post one score at once,
  and a worker that dies leaves its batch to the sweep once the lease runs out. The batch goes out
  over kept connections (up to ``GRADING_POSTS_IN_FLIGHT`` posts at once) and one cached token, and its
  results are recorded in bulk, a transaction per part of ``RECORD_PART`` answers.
- ``ServiceUnavailable`` (network, timeout, 5xx, 429) ends the batch: that score is retried with
  exponential backoff and full jitter, never sooner than ``Retry-After`` (after
  ``GRADING_MAX_ATTEMPTS`` it is a dead letter), and the rest of the batch waits as long, untried.
- ``ServiceRefused`` will not change by retrying (400 older timestamp, 404 line item gone, 422 user
  not gradable): recorded with the reason. A 409 (Moodle's "repeated timestamp") means the platform
  already has this score or a newer one: done.
- Posting twice is harmless: the timestamp is the score's own, so the platform takes it once. That
  is what lets a batch be recorded after it is sent: a crash in between only means a second post.
  A database outage in between does not: the answers are kept in memory and recorded once the
  database answers again, while the claim holds (``_record``), so a score the platform took is not
  posted again.
"""

from __future__ import annotations

import functools
import logging
import math
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, router
from django.db.models import F, Max, Q
from django.utils import timezone

from lms_tool.core import lean
from lms_tool.lti import ags
from lms_tool.lti import service_client as sc
from lms_tool.lti.models import Context, LtiUser, Registration, ResourceLink

from .line_items import LineItemUnknown, line_item_url_ensure
from .models import LineItem, PassbackState, Score
from .queue import enqueue, mark_clear
from .settle import Attempt, PostOutcome, batch_settle, platform_held_for

logger = logging.getLogger(__name__)
T = TypeVar("T")

REASONS = {
    400: "The platform refused the score as invalid (often: its timestamp is older than one it has).",
    401: "The platform refused the tool's access token twice: check the registration's client id and keys.",
    403: "The platform did not allow the tool to post scores (the score scope may have been removed).",
    404: "The gradebook column no longer exists in the platform (line item deleted).",
    422: "The platform says this person cannot be graded in the course (not a student there any more?).",
}


@functools.cache
def _due_sql() -> str:
    """Whether a score is due (its line item if so): one statement on the score's own row, built once, since every
    score's own task asks it and for all but the first of a batch the answer is "taken already"."""
    s = Score._meta
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    return f"SELECT line_item_id FROM {s.db_table} WHERE id = %s AND passback_state = %s AND next_attempt_at <= %s"  # noqa: S608


@functools.cache
def _registration_sql() -> str:
    li, rl, c = (model._meta for model in (LineItem, ResourceLink, Context))
    return (
        f"SELECT c.registration_id FROM {li.db_table} li JOIN {rl.db_table} rl ON li.resource_link_id = rl.id "  # noqa: S608
        f"JOIN {c.db_table} c ON rl.context_id = c.id WHERE li.id = %s"
    )


def _due_registration(score_id: int, now: Any) -> int | None:
    """The platform (registration id) of the score if it is due, else None."""
    connection = connections[router.db_for_read(Score)]
    when = Score._meta.get_field("next_attempt_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(_due_sql(), [score_id, str(PassbackState.PENDING), when])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(_registration_sql(), [row[0]])
        row = cursor.fetchone()
    return int(row[0]) if row else None


# The claimed batch with what posting and recording it read: each score with its learner, then each line item of
# the batch (usually one) with its link, course and registration, made once and shared by its scores. Two
# statements built once, where select_related would compile the five-table join for every batch.
# The learner's encrypted PII is left deferred (nothing here reads it; it still loads if read): a post needs
# only the ``sub``, and decrypting a name and an email per score costs more than the rest of the row.
_BATCH_PARTS: tuple[lean.Part, ...] = (
    (Score, "s", frozenset()),
    (LtiUser, "u", frozenset({"name", "email", "sis_id"})),
)
_ITEM_PARTS: tuple[lean.Part, ...] = (
    (LineItem, "li", frozenset()),
    (ResourceLink, "rl", frozenset()),
    (Context, "c", frozenset()),
    (Registration, "r", frozenset()),
)


@functools.cache
def _batch_tail() -> str:
    s, u = Score._meta, LtiUser._meta
    return f"FROM {s.db_table} s JOIN {u.db_table} u ON s.user_id = u.id WHERE s.claim = %s ORDER BY s.id"


def _items_tail(count: int) -> str:
    li, rl, c, r = (part[0]._meta for part in _ITEM_PARTS)
    return (
        f"FROM {li.db_table} li JOIN {rl.db_table} rl ON li.resource_link_id = rl.id "
        f"JOIN {c.db_table} c ON rl.context_id = c.id JOIN {r.db_table} r ON c.registration_id = r.id "
        f"WHERE li.id IN ({', '.join(['%s'] * count)})"
    )


def _claimed(claim: uuid.UUID) -> list[Score]:
    connection = connections[router.db_for_read(Score)]
    value = Score._meta.get_field("claim").get_db_prep_value(claim, connection)
    batch = []
    for score, user in lean.joined_from(_BATCH_PARTS, (), _batch_tail(), [value]):
        score.user = user
        batch.append(score)
    wanted = sorted({score.line_item_id for score in batch})
    items: dict[int, LineItem] = {}
    if wanted:
        for line_item, link, context, registration in lean.joined_from(
            _ITEM_PARTS, (), _items_tail(len(wanted)), wanted
        ):
            context.registration = registration
            link.context = context
            line_item.resource_link = link
            items[line_item.pk] = line_item
    for score in batch:
        score.line_item = items[score.line_item_id]
        if score.resource_link_id == score.line_item.resource_link_id:
            score.resource_link = score.line_item.resource_link  # else read when asked for, as the ORM would
    return batch


# How far ahead of this worker's clock a new score may be stamped due by a web server's clock and still be claimed by
# the platform's queued post, which its own post skipped queueing for (grading/queue.py). At most this much early
# for a retry: its backoff has a jitter of seconds.
CLOCK_SLACK = timedelta(seconds=1)


def _claim(score_id: int, until: float, registration_id: int | None = None) -> tuple[list[Score], int | None]:
    """Claim the score and other due scores of its platform (oldest first); the batch, in submission order, and
    the platform. If the database goes away once the claim is under way, it is made again when it answers, until
    ``until``. ``registration_id``: the platform's queued post (grading/queue.py): its mark is cleared first, and
    the platform's due scores are claimed even if this one was taken by another batch meanwhile."""
    queued = registration_id is not None
    if registration_id is not None:
        mark_clear(registration_id)  # before reading the clock: a score committed after this queues its own post
    now = timezone.now()
    own = _due_registration(score_id, now)
    registration_id = own if own is not None else registration_id
    if registration_id is None:
        return [], None  # a batch has taken it already: the common answer for a score's own task, so cheap
    held = platform_held_for(registration_id)
    if held > 0:
        # The platform asked to slow down (429): this score waits out the hold, untried and uncounted; the post asks
        # again then, for this score and the platform's others.
        Score.objects.filter(pk=score_id, passback_state=PassbackState.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=now + timedelta(seconds=held)
        )
        enqueue(score_id, countdown=held, registration_id=registration_id)
        return [], None
    claim = uuid.uuid4()
    lease = now + timedelta(seconds=settings.GRADING_LEASE_SECONDS)
    due_by = now + CLOCK_SLACK if queued else now

    def claim_and_read() -> list[Score]:
        others = (
            Score.objects.due(due_by)
            .filter(line_item__resource_link__context__registration_id=registration_id)
            .exclude(pk=score_id)
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[: max(settings.GRADING_POST_BATCH - (own is not None), 0)]
        )
        # One UPDATE with the others as its subquery (not read first): one round trip for the claim.
        Score.objects.filter(
            Q(pk=score_id) | Q(pk__in=others), passback_state=PassbackState.PENDING, next_attempt_at__lte=due_by
        ).update(next_attempt_at=lease, claimed_at=now, claim=claim, attempts=F("attempts") + 1)
        return _claimed(claim)

    # The connection lost after the UPDATE (committed or not: unknown) must not leave the batch claimed and unposted
    # until its lease ends. Done again with the same claim, the UPDATE takes only rows still due, and the read finds
    # every row of this claim, from either run.
    return _once_database_answers(claim_and_read, until, "claiming a batch of scores"), registration_id


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
    prepared = _prepare(score)
    if isinstance(prepared, Attempt):
        return prepared
    return attempt_sort(score, _send(score.line_item.resource_link.context.registration, *prepared))


def _prepare(score: Score) -> Attempt | tuple[str, dict[str, Any]]:
    """The URL and body of the score's post (its line item made if missing), or why it cannot be sent."""
    registration = score.line_item.resource_link.context.registration
    try:
        url = line_item_url_ensure(line_item=score.line_item)
    except LineItemUnknown as exc:
        return Attempt(PassbackState.FAILED, error=str(exc))
    except (sc.ServiceUnavailable, sc.ServiceRefused) as exc:  # creating the line item met the platform's error
        return attempt_sort(score, exc)
    return url, score.as_ags_score(family=registration.family)


def _send(registration: Registration, url: str, payload: dict[str, Any]) -> int | Exception:
    """The HTTP part of one post (no database: the token is in the process's memo, the connection the thread's own
    in ``core.http``): the status, or the service error to sort."""
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


def score_post(*, score_id: int, registration_id: int | None = None) -> PostOutcome:
    """Post this score now, with the other due scores of its platform; says what became of this one.

    ``registration_id``: this is the platform's queued post (grading/queue.py), which posts the platform's due
    scores even if this one was taken meanwhile, and queues the next post if more were due than one batch holds."""
    lease_ends = time.monotonic() + settings.GRADING_LEASE_SECONDS  # at the latest: the claim is made after this
    deadline = time.monotonic() + settings.GRADING_LEASE_SECONDS / 2  # posts start, and the claim is made, before it
    batch, platform = _claim(score_id, deadline, registration_id)
    if not batch:
        return PostOutcome("skipped")
    outcome = _batch_post(score_id, batch, lease_ends, deadline)
    if platform is not None and len(batch) >= settings.GRADING_POST_BATCH:
        # More may be due than a batch holds, and their scores queued nothing (a post was queued): the next post.
        enqueue(score_id, registration_id=platform)
    return outcome


def _batch_post(score_id: int, batch: list[Score], lease_ends: float, deadline: float) -> PostOutcome:
    newest = _once_database_answers(lambda: _newest_in_slots(batch), deadline, "reading the batch's newer scores")
    attempts: dict[int, Attempt] = {}
    # The platform's answers to the posts sent, sorted when they are recorded: sorting a refusal reads the database,
    # which may be gone by then, and an answer must not be lost with it (see _record).
    answers: dict[int, int | Exception] = {}
    outcomes: dict[int, PostOutcome] = {}  # of the scores recorded while the rest of the batch was in flight
    in_flight = max(1, int(settings.GRADING_POSTS_IN_FLIGHT))
    to_post: list[Score] = []
    for score in batch:
        if newest.get((score.line_item_id, score.user_id), score.pk) > score.pk:
            attempts[score.pk] = Attempt(PassbackState.SUPERSEDED, error="a newer score of this learner replaced it")
        else:
            to_post.append(score)
    try:
        if in_flight == 1:
            for score in to_post:
                if time.monotonic() > deadline:
                    break
                prepared = _prepare(score)
                if isinstance(prepared, Attempt):
                    attempts[score.pk] = prepared
                    if prepared.unavailable:
                        break
                    continue
                answers[score.pk] = _send(score.line_item.resource_link.context.registration, *prepared)
                if isinstance(answers[score.pk], sc.ServiceUnavailable):
                    break
        else:

            def record_part(part: list[Score]) -> bool:
                """Record scores whose answers are in while the others are in flight; False if the database is
                gone past the lease (their answers stay, for the batch's last recording)."""
                try:
                    recorded = _record(part, {}, {s.pk: answers[s.pk] for s in part}, lease_ends)
                except _DATABASE_GONE:
                    return False
                for s in part:
                    del answers[s.pk]
                outcomes.update(recorded)
                return True

            _post_in_flight(to_post, attempts, answers, in_flight=in_flight, deadline=deadline, record_part=record_part)
    except _DATABASE_GONE:
        if not answers and not outcomes:
            raise  # nothing reached the platform: the batch waits out its lease, then the sweep re-queues it
        # Some posts reached the platform: no more start; those are recorded below, the rest waits untried.
        logger.warning("the database went away while posting a batch of %s scores; recording what was sent", len(batch))
    rest = [score for score in batch if score.pk not in outcomes]
    if rest:
        outcomes.update(_record(rest, attempts, answers, lease_ends))
    return outcomes.get(score_id, PostOutcome("skipped"))


# What a lost database connection raises (refused, reset, closed by the server, or the connection Django holds
# found unusable); OperationalError also covers a deadlock or a statement timeout, after which running the
# recording again is as safe (it is one transaction, and it checks the claim). Other database errors are raised.
_DATABASE_GONE = (OperationalError, InterfaceError)


def _record(
    batch: list[Score], attempts: dict[int, Attempt], answers: dict[int, int | Exception], lease_ends: float
) -> dict[int, PostOutcome]:
    """Sort the platform's answers and record the batch; if the database is gone, keep the answers in memory and try
    again (backoff from 50 ms to 1 s) until it answers, for as long as the claim holds.

    A score the platform took must not be posted again: unrecorded, it would stay claimed until its lease ran out
    and then be due again, and posted a second time (bench/faults.py counted 25 of 120 so around a 6 s outage).
    While the lease holds no other worker can claim these scores, so the answers recorded late are still the
    ones that count. Past the lease the error is raised: another worker may take the scores, and the post may be
    repeated (the at-least-once floor, as for a worker killed between its posts and their recording; a repeated
    post carries the score's own timestamp, so the platform keeps one result)."""
    by_pk = {score.pk: score for score in batch}

    def record() -> dict[int, PostOutcome]:
        sorted_attempts = dict(attempts)
        for pk, answer in answers.items():
            sorted_attempts[pk] = attempt_sort(by_pk[pk], answer)
        return batch_settle(batch, sorted_attempts)

    return _once_database_answers(record, lease_ends, f"recording {len(answers)} posted scores")


def _once_database_answers(action: Callable[[], T], until: float, what: str) -> T:
    """``action()``; while it fails because the database is gone, again (backoff from 50 ms to 1 s) until it answers,
    as long as ``until`` (a claim's lease) allows. Inside a caller's transaction nothing can be retried here: the
    error is raised, as it is past ``until``."""
    pause = 0.05
    while True:
        try:
            return action()
        except _DATABASE_GONE:
            connection = connections[router.db_for_write(Score)]
            if connection.in_atomic_block or time.monotonic() + pause > until:
                raise
            logger.warning("%s failed: the database is unavailable; trying again in %.2f s", what, pause)
            connection.close()  # the broken connection; the next statement opens a new one
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


# Answers recorded at a time while the rest of a batch is in flight: the recording (the database's round trips) then
# overlaps the posts still waiting on the platform, where recording all at the end would leave the platform idle.
RECORD_PART = 25


# How long a post keeps the worker itself busy, at most (about 0.5 ms of CPU each on bench/passback.py's machine).
POST_SECONDS = 0.001


def window_for(round_trip: float, cap: int) -> int:
    """Posts to keep in flight to a platform whose probe took ``round_trip`` seconds: enough to cover the wait
    (one per ``POST_SECONDS`` of it, Little's law), at least 2 (one in flight while the worker reads the other's
    answer or records a part) and at most ``cap``.

    More than that adds nothing: the worker is already busy all the time, and a platform answering several posts
    at once spends more per post (on bench/passback.py's local platform, 4 in flight cost it a quarter more CPU per
    score than 2, and the rate fell). A platform far away gets the cap: at 20 ms a post, 4 in flight post about
    four times as fast as one."""
    return max(min(cap, 2), min(cap, math.ceil(round_trip / POST_SECONDS)))


def _post_in_flight(
    batch: list[Score],
    attempts: dict[int, Attempt],
    answers: dict[int, int | Exception],
    *,
    in_flight: int,
    deadline: float,
    record_part: Callable[[list[Score]], bool],
) -> None:
    """Post ``batch`` (one platform's) with up to ``in_flight`` posts at once, a new one starting as soon as one
    ends (so the platform is not left idle while the slowest of a round finishes).

    The first score goes alone, as a probe: a platform that is down costs one request per batch, as one at a
    time, and its round trip sets how many go at once (``window_for``: a platform that answers at once gets 2,
    a slow one up to ``in_flight``). The others go through ``ags.scores_post_window``: from this thread, each
    written to its own kept connection with the token fetched first, the answers read in order, a new post
    written as soon as an answer frees its connection (no thread per post: on a fast platform their hand-offs
    cost more than the posts). Every ``RECORD_PART`` answers taken (the posts ending in order) are recorded
    through ``record_part`` while the later posts are still in flight. A platform that is unavailable (5xx, 429
    with its Retry-After, timeouts) ends the batch: no post starts after its answer (those already sent, at most
    ``in_flight`` - 1, are read), the rest waits untried, and nothing more is recorded here: that answer and those
    after it are recorded with the untried scores, which wait as long as it says. The cap holds per platform
    within each posting thread of a worker process (a batch is one platform's, and one thread's at a time).

    A recording that meets a database gone past the lease ends the parts: the answers stay in ``answers`` for the
    batch's last recording (see _record)."""
    if not batch:
        return
    probe, batch = batch[0], batch[1:]
    registration = probe.line_item.resource_link.context.registration
    prepared = _prepare(probe)
    if isinstance(prepared, Attempt):
        attempts[probe.pk] = prepared
        if prepared.unavailable:
            return
    else:
        began = time.monotonic()
        answers[probe.pk] = _send(registration, *prepared)
        in_flight = window_for(time.monotonic() - began, in_flight)
        if isinstance(answers[probe.pk], sc.ServiceUnavailable):
            return
    if not batch:
        return
    ready: list[tuple[Score, str, dict[str, Any]]] = []
    for score in batch:
        prepared = _prepare(score)
        if isinstance(prepared, Attempt):
            attempts[score.pk] = prepared
            if prepared.unavailable:
                return
            continue
        ready.append((score, *prepared))
    failed = False  # the platform was unavailable: no post starts after its answer

    def go_on() -> bool:
        return not failed and time.monotonic() <= deadline  # else not tried: the lease is running out

    part: list[Score] = [probe] if probe.pk in answers else []
    parts = True  # recording in parts: until the platform fails, or the database does
    sent = ags.scores_post_window(
        registration, [(url, payload) for _, url, payload in ready], in_flight=in_flight, go_on=go_on
    )
    try:
        for left, ((score, _, _), answer) in enumerate(zip(ready, sent, strict=False), start=1 - len(ready)):
            # The window is shorter than ``ready`` once go_on said no: the rest were not tried.
            answers[score.pk] = answer
            if isinstance(answer, sc.ServiceUnavailable):
                failed, parts = True, False
            elif parts:
                part.append(score)
                if len(part) >= RECORD_PART and left < 0:  # posts are still to come: record while they go
                    parts = record_part(part)
                    part = []
    finally:
        sent.close()  # leaving early: the posts whose answers were not read are not used again
