"""Celery tasks: ids in, call delivery.py, schedule the next try."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from . import delivery, services


@shared_task(acks_late=True, ignore_result=True)
def xapi_send(endpoint_pk: int) -> None:
    # Forget "queued" before claiming: a statement committed from now on queues a new task, and one
    # committed before is due and goes in this batch (services.send_soon).
    cache.delete(f"xapi:queued:{endpoint_pk}")
    delay = delivery.endpoint_drain(endpoint_pk=endpoint_pk)
    if delay is not None:
        xapi_send.apply_async((endpoint_pk,), countdown=delay)


@shared_task(ignore_result=True)
def xapi_sweep() -> None:
    """Beat: send statements whose task was lost (a crash, a broker outage while they were recorded), and
    forget those the LRS took long ago."""
    services.send_soon(delivery.endpoints_due())
    services.statements_purge()
