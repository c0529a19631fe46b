"""Celery tasks: ids in, call the delivery module, schedule the next try."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import DatabaseError
from kombu.exceptions import OperationalError

from . import delivery
from .models import Subscription

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def webhook_fan_out(event_pk: int) -> None:
    for pk in delivery.event_fan_out(event_pk=event_pk):
        webhook_deliver.delay(pk)


@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver(delivery_pk: int) -> None:
    delay = delivery.delivery_attempt(delivery_pk=delivery_pk)
    if delay is not None:
        webhook_deliver.apply_async((delivery_pk,), countdown=delay)


@shared_task(ignore_result=True)
def webhooks_sweep() -> None:
    """Beat: fan out events whose publication was lost, resend deliveries whose task was lost."""
    for event_pk in delivery.events_not_fanned_out():
        webhook_fan_out.delay(event_pk)
    for delivery_pk in delivery.due_deliveries():
        webhook_deliver.delay(delivery_pk)


# Whether any subscription is active, asked at most every LISTEN_SECONDS per process: a roster sync
# records thousands of events and should not pay a query each when nobody listens. A subscription
# made in another process is heard within that time, and the sweeper fans out what was skipped.
LISTEN_SECONDS = 5.0
_listening: dict[str, float | bool] = {"until": 0.0, "value": False}


def listening_forget() -> None:
    """Called when subscriptions change in this process."""
    _listening["until"] = 0.0


def _anyone_listening() -> bool:
    now = time.monotonic()
    if now >= float(_listening["until"]):
        _listening["value"] = Subscription.objects.filter(is_active=True).exists()
        _listening["until"] = now + LISTEN_SECONDS
    return bool(_listening["value"])


def publish(event_pk: int) -> None:
    """Registered in ``core.events.PUBLISHERS``: runs after the event's transaction commits."""
    try:
        if not _anyone_listening():
            return  # the sweeper marks it later; no broker message per event when nobody listens
        webhook_fan_out.delay(event_pk)
    except (OperationalError, DatabaseError) as exc:
        # The write that caused the event has committed; the sweeper fans it out later.
        logger.warning("webhooks: could not queue the fan-out of event %s (%s); the sweeper will", event_pk, exc)


def publish_many(event_pks: list[int]) -> None:
    """``publish`` for a batch from ``core.events.event_record_many`` (a roster page): one subscription check."""
    try:
        if not _anyone_listening():
            return
        for pk in event_pks:
            webhook_fan_out.delay(pk)
    except (OperationalError, DatabaseError) as exc:
        logger.warning("webhooks: could not queue the fan-out of %d events (%s); the sweeper will", len(event_pks), exc)


publish.many = publish_many  # type: ignore[attr-defined]
