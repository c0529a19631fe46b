"""Statements into the outbox, in the transaction of what they record; replay of dead letters.

``events_record`` is registered in ``core.events.RECORDERS`` and the launch hook ``launch_record``
in ``lti.hooks``: both run before the domain transaction commits, so a statement exists exactly when
the attempt, review or launch it records does. Sending is delivery.py's, after commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from lms_tool.core.models import DomainEvent
from lms_tool.core.queue import task_send
from lms_tool.core.services import audit_record
from lms_tool.flashcards.models import Card
from lms_tool.grading.models import Score
from lms_tool.lti.models import Context, LtiUser, ResourceLink
from lms_tool.lti.types import LtiLaunch
from lms_tool.quizzes.models import Answer, Attempt

from . import statements as build
from .models import LrsEndpoint, Statement, StatementState

logger = logging.getLogger(__name__)

SEND_TASK = "lms_tool.xapi.tasks.xapi_send"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"  # a deep-linking launch picks content, it studies nothing


# Whether any LRS is configured, asked at most every LISTEN_SECONDS per process (as webhooks do): most
# installations have none, and a review or launch should not pay a query for nothing. Saving an
# endpoint in this process forgets the answer; another process hears of it within LISTEN_SECONDS.
LISTEN_SECONDS = 5.0
_listening: dict[str, float | bool] = {"until": 0.0, "value": False}


def listening_forget() -> None:
    _listening["until"] = 0.0


def _anyone_listening() -> bool:
    now = time.monotonic()
    if now >= float(_listening["until"]):
        _listening["value"] = LrsEndpoint.objects.filter(is_active=True).exists()
        _listening["until"] = now + LISTEN_SECONDS
    return bool(_listening["value"])


def _targets(registration_pks: Iterable[int]) -> dict[int, build.Target]:
    endpoints = LrsEndpoint.objects.filter(registration_id__in=set(registration_pks), is_active=True)
    return {e.registration_id: build.Target(e, e.registration.issuer) for e in endpoints.select_related("registration")}


def _store(target: build.Target, key: str, built: build.Built) -> list[Statement]:
    """Outbox rows for one happening; ``key`` names it, so recording it twice adds nothing (uuid5 ids)."""
    rows = []
    for n, (verb, body) in enumerate(built):
        statement_id = build.statement_uuid(f"{key}/{n}")
        body = {"id": str(statement_id), **body}
        rows.append(Statement(endpoint=target.endpoint, statement_id=statement_id, verb=verb, body=body))
    return rows


def _guarded(what: str, fn: Callable[[], list[Statement]]) -> None:
    """Build and write the rows in a savepoint (every query of it included): a fault here loses learning
    records, never the learner's work, and leaves the domain transaction usable on PostgreSQL."""
    try:
        with transaction.atomic():
            rows = fn()
            if not rows:
                return
            now = timezone.now()
            for row in rows:
                row.next_attempt_at = now
            Statement.objects.bulk_create(rows, ignore_conflicts=True)
    except Exception:  # a statement is not worth failing a submission or a rating for; the log says why
        logger.exception("xapi: could not record the statements of %s", what)
        return
    endpoints = {row.endpoint_id for row in rows}
    transaction.on_commit(lambda: send_soon(endpoints))


# Domain events -> statements -------------------------------------------------------------------------

# event type -> function(target, event) -> statements
BUILDERS: dict[str, Callable[[build.Target, DomainEvent], build.Built]] = {}


def _builder(event_type: str) -> Callable[[Callable[..., build.Built]], Callable[..., build.Built]]:
    def register(fn: Callable[..., build.Built]) -> Callable[..., build.Built]:
        BUILDERS[event_type] = fn
        return fn

    return register


def _attempt(event: DomainEvent) -> Attempt | None:
    attempt = (
        Attempt.objects.select_related("quiz__context", "user", "resource_link__context")
        .filter(pk=int(event.subject_id))
        .first()
    )
    return None if attempt is None or attempt.is_preview else attempt


@_builder("attempt.started")
def _attempt_started(target: build.Target, event: DomainEvent) -> build.Built:
    attempt = _attempt(event)
    return build.attempt_started(target, attempt) if attempt is not None else []


@_builder("attempt.submitted")
def _attempt_submitted(target: build.Target, event: DomainEvent) -> build.Built:
    attempt = _attempt(event)
    if attempt is None:
        return []
    order = {pk: i for i, pk in enumerate(attempt.question_ids)}
    answers = sorted(
        Answer.objects.filter(attempt=attempt).select_related("question"), key=lambda a: order.get(a.question_id, 0)
    )
    return build.attempt_submitted(target, attempt, answers)


def _score(event: DomainEvent) -> Score | None:
    return (
        Score.objects.select_related("user", "line_item", "resource_link__context", "reviewed_by")
        .filter(pk=int(event.subject_id))
        .first()
    )


@_builder("score.needs_review")
def _score_held(target: build.Target, event: DomainEvent) -> build.Built:
    score = _score(event)
    return build.score_held(target, score) if score is not None else []


@_builder("review.completed")
def _score_reviewed(target: build.Target, event: DomainEvent) -> build.Built:
    score = _score(event)
    return build.score_reviewed(target, score) if score is not None else []


@_builder("flashcards.card_reviewed")
def _card_reviewed(target: build.Target, event: DomainEvent) -> build.Built:
    card = Card.objects.select_related("deck__context").filter(pk=int(event.subject_id)).first()
    learner = LtiUser.objects.filter(pk=event.data.get("user")).first()
    if card is None or learner is None:
        return []
    return build.card_reviewed(target, card, learner, event.data, event.created_at)


def events_record(events: list[DomainEvent]) -> None:
    """Registered in ``core.events.RECORDERS``: the statements of these events, for their registrations' LRS."""
    wanted = [e for e in events if e.type in BUILDERS and e.context_pk is not None]
    if not wanted or not _anyone_listening():
        return

    def rows() -> list[Statement]:
        registration_of = dict(
            Context.objects.filter(pk__in={e.context_pk for e in wanted}).values_list("pk", "registration_id")
        )
        targets = _targets(registration_of.values())
        made: list[Statement] = []
        for event in wanted:
            target = targets.get(registration_of.get(event.context_pk or 0, 0))
            if target is not None:
                made += _store(target, f"event/{event.event_id}", BUILDERS[event.type](target, event))
        return made

    _guarded(f"{len(wanted)} event(s)", rows)


# Launches ------------------------------------------------------------------------------------------


def launch_record(lti_launch: LtiLaunch) -> None:
    """Registered with ``lti.hooks.launch_recorded``: a resource-link launch is ``launched``."""
    context_pk, link_pk = lti_launch.context_pk, lti_launch.resource_link_pk
    if context_pk is None or lti_launch.message_type != RESOURCE_LINK_REQUEST:
        return
    if not _anyone_listening():
        return

    def rows() -> list[Statement]:
        target = _targets([lti_launch.registration_id]).get(lti_launch.registration_id)
        if target is None:
            return []
        user = LtiUser.objects.get(pk=lti_launch.user_pk)
        context = Context.objects.get(pk=context_pk)
        link = ResourceLink.objects.filter(pk=link_pk).first() if link_pk is not None else None
        when = lti_launch.issued_at if lti_launch.issued_at.timestamp() > 0 else timezone.now()
        return _store(target, f"launch/{lti_launch.launch_id}", build.launched(target, user, context, link, when))

    _guarded(f"launch {lti_launch.launch_id[:8]}", rows)


# Sending -------------------------------------------------------------------------------------------


def send_soon(endpoint_pks: Iterable[int]) -> None:
    """After commit: one send task per endpoint within SEND_DELAY_SECONDS, so a burst goes out as one batch."""
    delay = float(str(settings.XAPI["SEND_DELAY_SECONDS"]))
    for pk in endpoint_pks:
        try:
            if cache.add(f"xapi:queued:{pk}", 1, timeout=max(1, int(delay) + 1)):
                task_send(SEND_TASK, pk, countdown=delay or None)
        except (OperationalError, DatabaseError) as exc:
            # The statements are committed; the beat's sweep sends them.
            logger.warning("xapi: could not queue sending to LRS endpoint %s (%s); the sweep will", pk, exc)


@transaction.atomic
def statements_replay(*, pks: Iterable[int], actor: str) -> int:
    """Dead letters (or any statements) back to pending, tried afresh: the same ids, so the LRS keeps one copy."""
    rows = list(Statement.objects.select_for_update().filter(pk__in=list(pks)).exclude(state=StatementState.SENT))
    if not rows:
        return 0
    now = timezone.now()
    Statement.objects.filter(pk__in=[r.pk for r in rows]).update(
        state=StatementState.PENDING, attempts=0, next_attempt_at=now, lease_until=None, lease=None, updated_at=now
    )
    for row in rows:
        audit_record(
            actor_type="admin",
            actor_id=actor,
            action="xapi.statement.replay",
            object_type="xapi_statement",
            object_id=row.pk,
        )
    endpoints = {r.endpoint_id for r in rows}
    transaction.on_commit(lambda: send_soon(endpoints))
    return len(rows)


def statements_purge(*, now: datetime | None = None) -> int:
    """Delete statements the LRS took more than KEEP_SENT_DAYS ago: the LRS is their record, and the outbox
    would otherwise grow by a row per rating for ever. Pending and dead-lettered rows stay."""
    now = now or timezone.now()
    before = now - timedelta(days=int(str(settings.XAPI["KEEP_SENT_DAYS"])))
    deleted, _ = Statement.objects.filter(state=StatementState.SENT, sent_at__lt=before).delete()
    return deleted


def dead_statements(*, endpoint_pk: int | None = None, since: datetime | None = None) -> list[int]:
    rows = Statement.objects.filter(state=StatementState.DEAD)
    if endpoint_pk is not None:
        rows = rows.filter(endpoint_id=endpoint_pk)
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    return list(rows.order_by("pk").values_list("pk", flat=True))


def endpoint_save(*, endpoint: LrsEndpoint, key: str = "", secret: str = "") -> LrsEndpoint:
    """Save an endpoint (admin); blank credentials keep the stored ones."""
    if key or secret:
        stored_key, stored_secret = endpoint.credentials() if endpoint.key_encrypted else ("", "")
        endpoint.credentials_set(key or stored_key, secret or stored_secret)
    endpoint.save()
    listening_forget()
    return endpoint
