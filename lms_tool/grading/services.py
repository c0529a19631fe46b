"""Writes of grade passback: submit a score (outbox), review an AI grade, replay a dead letter.

A score is written in the caller's transaction and posted by a Celery task after commit
(``passback.score_post``), so a platform's bad day never fails or slows a learner's request.
AI grades below the activity's confidence threshold wait for an instructor: Canvas keeps
``scoreGiven`` with ``PendingManual`` and flags it for a grader, so it is posted that way; Moodle
drops ``scoreGiven`` unless ``FullyGraded``, so it is held; other platforms get ``PendingManual``
(AGS §3.4.8). A confirmed or overridden grade is posted ``FullyGraded``.
"""

from __future__ import annotations

import functools
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from lms_tool.core import lean
from lms_tool.core.errors import ToolError
from lms_tool.core.events import event_record
from lms_tool.core.services import audit_record
from lms_tool.lti import roles
from lms_tool.lti.models import Family, LtiUser, Membership, ResourceLink
from lms_tool.lti.types import LtiLaunch

from .models import AgsEndpoint, LineItem, PassbackState, ReviewState, Score, ScoreSlot, Source
from .passback import score_post  # noqa: F401 - part of this module's interface
from .queue import enqueue

logger = logging.getLogger(__name__)
ACTIVITY_PROGRESS = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}


class ScoreInvalid(ToolError):
    title = gettext_lazy("The score could not be recorded")


class ReviewRefused(ToolError):
    title = gettext_lazy("The review could not be recorded")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_submission(
    *,
    score_given: float | None,
    score_maximum: float,
    activity_progress: str,
    source: str,
    confidence: float | None,
    review_threshold: float,
) -> None:
    if not _number(score_maximum) or score_maximum <= 0:
        raise ScoreInvalid("The maximum score must be a number above 0.", detail=f"score_maximum={score_maximum!r}")
    if score_given is not None and (not _number(score_given) or score_given < 0):
        raise ScoreInvalid("The score must be a number of at least 0.", detail=f"score_given={score_given!r}")
    if activity_progress not in ACTIVITY_PROGRESS:
        raise ScoreInvalid(f"Unknown activity progress {activity_progress!r}.", detail=str(sorted(ACTIVITY_PROGRESS)))
    if source not in Source.values:
        raise ScoreInvalid(f"Unknown score source {source!r}; use one of {Source.values}.")
    if source == Source.AI and (confidence is None or not _number(confidence) or not 0 <= confidence <= 1):
        raise ScoreInvalid("An AI grade needs a confidence between 0 and 1.", detail=f"confidence={confidence!r}")
    if not _number(review_threshold) or not 0 <= review_threshold <= 1:
        raise ScoreInvalid("The review threshold must be between 0 and 1.", detail=f"{review_threshold!r}")


def _plan(family: str, needs_review: bool, score_given: float | None) -> tuple[str, str]:
    """(passback_state, gradingProgress) of a new score."""
    if needs_review:
        # Moodle would drop scoreGiven from anything but FullyGraded: hold it until reviewed.
        return (PassbackState.HELD if family == Family.MOODLE else PassbackState.PENDING), "PendingManual"
    return PassbackState.PENDING, ("FullyGraded" if score_given is not None else "NotReady")


def _line_item_for(
    resource_link: ResourceLink,
    *,
    label: str,
    resource_id: str,
    tag: str,
    score_maximum: float,
    end_date_time: datetime | None = None,
) -> LineItem:
    # Read lean first: after a link's first score (every other submit of a class) the line item is there.
    line_item = lean.first(LineItem, {"resource_link": resource_link.pk})
    created = False
    if line_item is None:
        line_item, created = LineItem.objects.get_or_create(
            resource_link=resource_link,
            defaults={
                "url": resource_link.lineitem_url,
                "label": (label or resource_link.title or "Activity")[:500],
                "resource_id": resource_id,
                "tag": tag,
                "score_maximum": score_maximum,
                "end_date_time": end_date_time,
            },
        )
    # The launch's lineitem claim names the link's column; it wins over one we created.
    if not created and resource_link.lineitem_url and line_item.url != resource_link.lineitem_url:
        line_item.url = resource_link.lineitem_url
        line_item.save(update_fields=["url", "updated_at"])
    return line_item


def _next_timestamp(*, line_item: LineItem, user: LtiUser) -> datetime:
    """A timestamp later than any earlier score of this learner in this line item (AGS §3.4.1).

    Whole seconds apart: Moodle keeps seconds and answers 409 to a repeated one. The slot row is
    locked, so two submissions of one learner cannot take the same second."""
    now = timezone.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if connection.vendor == "postgresql":
        return _next_timestamp_upsert(line_item=line_item, user=user, now=now)
    slot = ScoreSlot.objects.select_for_update().filter(line_item=line_item, user=user).first()
    if slot is None:  # the learner's first score here: the new row is locked by this transaction
        try:
            with transaction.atomic():
                ScoreSlot.objects.create(line_item=line_item, user=user, last_timestamp=now)
            return now
        except IntegrityError:  # another submission of this learner created it meanwhile: wait for its lock
            slot = ScoreSlot.objects.select_for_update().get(line_item=line_item, user=user)
    if slot.last_timestamp is not None and now < slot.last_timestamp + timedelta(seconds=1):
        now = slot.last_timestamp + timedelta(seconds=1)
    ScoreSlot.objects.filter(pk=slot.pk).update(last_timestamp=now)
    return now


@functools.cache
def _slot_upsert_sql() -> str:
    table = ScoreSlot._meta.db_table
    return (
        f"INSERT INTO {table} (line_item_id, user_id, last_timestamp) VALUES (%s, %s, %s) "  # noqa: S608 - table name only
        "ON CONFLICT (line_item_id, user_id) DO UPDATE SET last_timestamp = "
        # GREATEST skips a NULL: a slot without a timestamp takes now.
        f"GREATEST(EXCLUDED.last_timestamp, {table}.last_timestamp + interval '1 second') "
        "RETURNING last_timestamp"
    )


def _next_timestamp_upsert(*, line_item: LineItem, user: LtiUser, now: datetime) -> datetime:
    """``_next_timestamp`` in one statement on PostgreSQL: the slot is created or moved on, and its row stays
    locked by this transaction either way (INSERT ... ON CONFLICT DO UPDATE locks the row it updates, and waits
    for another transaction's insert of the same slot), so two submissions still never take the same second."""
    with connection.cursor() as cursor:
        cursor.execute(_slot_upsert_sql(), [line_item.pk, user.pk, now])
        (stamp,) = cursor.fetchone()
    return stamp


@functools.cache
def _supersede_sql(states: int) -> str:
    s = Score._meta
    # Identifiers come from the model's metadata and values are bound parameters: nothing from input.
    return (
        f"UPDATE {s.db_table} SET passback_state = %s, next_attempt_at = NULL, last_error = %s "  # noqa: S608
        f"WHERE line_item_id = %s AND user_id = %s AND id < %s AND passback_state IN ({', '.join(['%s'] * states)})"
    )


def _supersede_older(score: Score) -> None:
    """Older scores of the slot still waiting to be posted never need to be: this one replaces them.

    As ``Score.objects.filter(...).update(...)`` would write it (no ``updated_at``, as ``update()`` leaves it), in a
    statement built once: every submit runs it, and compiling the ORM's UPDATE cost more than running it."""
    waiting = (
        [PassbackState.PENDING, PassbackState.HELD]
        if score.passback_state == PassbackState.PENDING
        else [PassbackState.HELD]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _supersede_sql(len(waiting)),
            [
                str(PassbackState.SUPERSEDED),
                f"superseded by score #{score.pk}",
                score.line_item_id,
                score.user_id,
                score.pk,
                *(str(state) for state in waiting),
            ],
        )


# No savepoint inside a caller's transaction (a submit, a regrade, a deck's grade): none of them goes on after this
# fails, so the savepoint would only cost two round trips of every submit.
@transaction.atomic(savepoint=False)
def score_submit(
    *,
    user: LtiUser,
    resource_link: ResourceLink,
    score_given: float | None,
    score_maximum: float,
    activity_progress: str = "Completed",
    source: str = "automatic",
    confidence: float | None = None,
    review_threshold: float = 0.8,
    comment: str = "",
    line_item_label: str = "",
    line_item_resource_id: str = "",
    line_item_tag: str = "",
    line_item_end: datetime | None = None,
) -> Score:
    """Write a score to the outbox in the caller's transaction; it is posted after commit."""
    _check_submission(
        score_given=score_given,
        score_maximum=score_maximum,
        activity_progress=activity_progress,
        source=source,
        confidence=confidence,
        review_threshold=review_threshold,
    )
    registration = resource_link.context.registration
    if user.registration_id != registration.pk:
        raise ScoreInvalid(
            "The learner and the activity belong to different platforms.",
            detail=f"user {user.pk} registration {user.registration_id}, link {resource_link.pk}",
        )
    line_item = _line_item_for(
        resource_link,
        label=line_item_label,
        resource_id=line_item_resource_id,
        tag=line_item_tag,
        score_maximum=score_maximum,
        end_date_time=line_item_end,
    )
    needs_review = source == Source.AI and confidence is not None and confidence < review_threshold
    state, progress = _plan(registration.family, needs_review, score_given)
    # One insert built once (lean.insert_many), as Score.objects.create writes it: every submit makes one.
    (score,) = lean.insert_many(
        Score,
        [
            Score(
                user=user,
                resource_link=resource_link,
                line_item=line_item,
                score_given=score_given,
                score_maximum=score_maximum,
                activity_progress=activity_progress,
                grading_progress=progress,
                comment=comment,
                timestamp=_next_timestamp(line_item=line_item, user=user),
                source=source,
                confidence=confidence,
                review_threshold=review_threshold if source == Source.AI else None,
                review_state=ReviewState.NEEDS_REVIEW if needs_review else ReviewState.NOT_NEEDED,
                passback_state=state,
                next_attempt_at=timezone.now() if state == PassbackState.PENDING else None,
            )
        ],
    )
    _submitted(score)
    return score


def _submitted(score: Score) -> None:
    """What follows a new score in the same transaction: older ones superseded, the audit line, the
    review event, and the post queued for after commit."""
    _supersede_older(score)
    audit_record(
        actor_type="system",
        action="score.submitted",
        object_type="score",
        object_id=score.pk,
        source=score.source,
        after=score.snapshot(),
    )
    if score.review_state == ReviewState.NEEDS_REVIEW:
        event_record(
            type="score.needs_review",
            subject_type="score",
            subject_id=score.pk,
            data=score.event_data(),
            context_pk=score.resource_link.context_id,
        )
    if score.passback_state == PassbackState.PENDING:
        # The link's course and platform came with the link (score_submit reads them): no query.
        enqueue(score.pk, registration_id=score.resource_link.context.registration_id)


def _check_reviewer(score: Score, reviewer: LtiUser) -> None:
    membership = Membership.objects.filter(context_id=score.resource_link.context_id, user=reviewer).first()
    if (
        reviewer.registration_id != score.user.registration_id
        or membership is None
        or not membership.is_active
        or not roles.is_staff(membership.roles)
    ):
        raise ReviewRefused(
            gettext_lazy("Only an instructor of this course can review its grades."),
            status=403,
            detail=f"reviewer {reviewer.pk} for score {score.pk}",
        )


@transaction.atomic
def score_review_decide(
    *, score: Score, reviewer: LtiUser, score_given: float, comment: str = "", api_client_id: str = ""
) -> Score:
    """An instructor confirms (same value) or overrides an AI grade; it is then posted FullyGraded. Audited,
    and when an API client decided for the instructor (``api_client_id``), that too, in the same transaction."""
    score = Score.objects.select_for_update().select_related("user", "resource_link", "line_item").get(pk=score.pk)
    if score.review_state != ReviewState.NEEDS_REVIEW:
        raise ReviewRefused(
            gettext_lazy("This grade has already been reviewed."), status=409, detail=f"{score.review_state}"
        )
    _check_reviewer(score, reviewer)
    if not _number(score_given) or score_given < 0:
        raise ReviewRefused(
            gettext_lazy("The grade must be a number of at least 0."), detail=f"score_given={score_given!r}"
        )
    before = score.snapshot()
    score.review_state = ReviewState.CONFIRMED if score_given == score.score_given else ReviewState.OVERRIDDEN
    score.score_given, score.grading_progress = float(score_given), "FullyGraded"
    score.comment = comment or score.comment
    score.reviewed_by, score.reviewed_at = reviewer, timezone.now()
    if (
        Score.objects.filter(line_item=score.line_item, user=score.user, pk__gt=score.pk)
        .exclude(passback_state=PassbackState.SUPERSEDED)
        .exists()
    ):
        # A newer score of this learner is in (or on its way to) the gradebook: keep the decision only.
        score.passback_state, score.next_attempt_at = PassbackState.SUPERSEDED, None
    else:
        score.timestamp = _next_timestamp(line_item=score.line_item, user=score.user)
        score.passback_state, score.attempts, score.next_attempt_at = PassbackState.PENDING, 0, timezone.now()
        score.last_error = ""
    score.save()
    if score.passback_state == PassbackState.PENDING:
        _supersede_older(score)
        enqueue(score.pk)
    audit_record(
        actor_type="user",
        actor_id=str(reviewer.pk),
        action="review.decided",
        object_type="score",
        object_id=score.pk,
        source="instructor",
        before=before,
        after=score.snapshot(),
    )
    if api_client_id:
        audit_record(
            actor_type="api_client",
            actor_id=api_client_id,
            action="review.decided_via_api",
            object_type="score",
            object_id=score.pk,
            source="api",
            after={"reviewer": reviewer.pk, "review_state": score.review_state},
        )
    event_record(
        type="review.completed",
        subject_type="score",
        subject_id=score.pk,
        data={**score.event_data(), "reviewer_sub": reviewer.sub},
        context_pk=score.resource_link.context_id,
    )
    return score


@transaction.atomic
def score_replay(*, score: Score, actor: str, actor_type: str = "admin") -> Score:
    """Post a dead-lettered or refused score again, with its own timestamp (posting twice is harmless).

    ``actor`` is an admin's username, or an API client's id with ``actor_type="api_client"``."""
    score = Score.objects.select_for_update().get(pk=score.pk)
    if score.passback_state not in (PassbackState.DEAD, PassbackState.FAILED):
        raise ScoreInvalid(
            f"Score #{score.pk} is {score.get_passback_state_display().lower()}; only dead letters can be replayed.",
            status=409,
        )
    before = score.snapshot()
    if Score.objects.filter(
        line_item=score.line_item_id,
        user=score.user_id,
        pk__gt=score.pk,
        passback_state__in=[PassbackState.PENDING, PassbackState.POSTED],
    ).exists():
        score.passback_state, score.last_error = PassbackState.SUPERSEDED, "a newer score replaced it"
    else:
        score.passback_state, score.attempts, score.next_attempt_at = PassbackState.PENDING, 0, timezone.now()
        enqueue(score.pk)
    score.save(update_fields=["passback_state", "attempts", "next_attempt_at", "last_error", "updated_at"])
    audit_record(
        actor_type=actor_type,
        actor_id=actor,
        action="score.replayed",
        object_type="score",
        object_id=score.pk,
        source="api" if actor_type == "api_client" else "admin",
        before=before,
        after=score.snapshot(),
    )
    return score


@transaction.atomic(savepoint=False)  # inside the launch's transaction: no savepoint round trips
def ags_endpoint_remember(*, launch: LtiLaunch) -> None:
    """Keep the launch's AGS endpoint claim (line items container, scopes, the link's line item).

    Called after a launch is recorded; writes only when something changed."""
    claim = launch.ags
    if not claim or launch.context_pk is None:
        return
    lineitems, scopes = str(claim.get("lineitems") or ""), sorted(str(s) for s in claim.get("scope") or [])
    endpoint = lean.first(AgsEndpoint, {"context": launch.context_pk})
    if endpoint is None:
        AgsEndpoint.objects.create(context_id=launch.context_pk, lineitems_url=lineitems, scopes=scopes)
    elif (endpoint.lineitems_url, endpoint.scopes) != (lineitems, scopes):
        endpoint.lineitems_url, endpoint.scopes = lineitems, scopes
        endpoint.save(update_fields=["lineitems_url", "scopes", "updated_at"])
    lineitem = str(claim.get("lineitem") or "")
    if lineitem and launch.resource_link_pk is not None:
        known = lean.first(LineItem, {"resource_link": launch.resource_link_pk})
        if known is not None and known.url != lineitem:
            LineItem.objects.filter(pk=known.pk).update(url=lineitem)
