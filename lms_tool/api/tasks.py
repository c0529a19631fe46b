"""Celery tasks of the API (thin: call the service)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def idempotency_purge() -> int:
    """Beat, hourly: stored answers to Idempotency-Keys are kept for API_IDEMPOTENCY_TTL_SECONDS."""
    return services.idempotency_purge()
