"""Domain events: written once in the transaction that causes them, published later (webhooks, API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from . import lean
from .models import DomainEvent


def event_record(
    *, type: str, subject_type: str, subject_id: Any, data: dict[str, Any], context_pk: int | None = None
) -> DomainEvent:
    """Record a domain event (e.g. ``enrollment.added``); subscribers are notified after commit."""
    # One insert built once, as DomainEvent.objects.create writes it (every submit records one).
    (event,) = lean.insert_many(
        DomainEvent,
        [
            DomainEvent(
                type=type, subject_type=subject_type, subject_id=str(subject_id), data=data, context_pk=context_pk
            )
        ],
    )
    _record([event])
    transaction.on_commit(lambda: _publish(event.pk))
    return event


def event_record_many(*, events: list[dict[str, Any]]) -> list[DomainEvent]:
    """Record many domain events in one statement (a roster page of enrolment changes); each dict takes
    ``event_record``'s keyword arguments. Subscribers are notified after commit, one call per event."""
    created = lean.insert_many(
        DomainEvent,
        [
            DomainEvent(
                type=e["type"],
                subject_type=e["subject_type"],
                subject_id=str(e["subject_id"]),
                data=e["data"],
                context_pk=e.get("context_pk"),
            )
            for e in events
        ],
    )
    _record(created)
    pks = [event.pk for event in created if event.pk is not None]

    def publish_all() -> None:
        for hook in PUBLISHERS:
            # A hook with a ``many`` attribute takes the whole batch (one query, one task), so a
            # 50,000-member roster sync does not cost 50,000 publications.
            many = getattr(hook, "many", None)
            if many is not None:
                many(pks)
            else:
                for pk in pks:
                    hook(pk)

    if pks:
        transaction.on_commit(publish_all)
    return created


def _record(events: list[DomainEvent]) -> None:
    # Recorders write their own outbox rows in the event's transaction (xapi statements): the rows
    # commit or roll back with the change that caused them, which a publisher after commit cannot promise.
    for recorder in RECORDERS:
        recorder(events)


def _publish(event_pk: int) -> None:
    # The webhooks app registers its dispatcher here; without it events wait in the table.
    for hook in PUBLISHERS:
        hook(event_pk)


PUBLISHERS: list[Any] = []
# Called with the new events inside their transaction (before commit); a higher app registers in its
# AppConfig.ready(). A recorder must not fail the domain write: it guards itself (savepoint, log).
RECORDERS: list[Callable[[list[DomainEvent]], None]] = []
