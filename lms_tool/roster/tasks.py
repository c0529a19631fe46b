"""Roster sync tasks: thin (ids in, load, call the service); failed reads retry with backoff."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from lms_tool.lti.service_client import backoff

from . import services
from .models import RosterSync


@shared_task(bind=True, acks_late=True, ignore_result=True)
def roster_sync_task(self: Any, sync_pk: int, full: bool = False) -> None:
    services.roster_sync_dequeued(sync_pk=sync_pk)
    sync = RosterSync.objects.select_related("context__registration", "resource_link").filter(pk=sync_pk).first()
    if sync is None:
        return
    try:
        services.roster_sync(sync=sync, full=full)
    except services.RosterSyncFailed as exc:
        # The reason is already on the RosterSync row; after the last retry the beat tries again.
        if self.request.retries >= int(settings.ROSTER["MAX_RETRIES"]):
            return
        countdown = backoff(
            self.request.retries + 1, retry_after=exc.retry_after, base=float(settings.ROSTER["RETRY_BASE_SECONDS"])
        )
        raise self.retry(countdown=countdown, exc=exc, max_retries=int(settings.ROSTER["MAX_RETRIES"])) from exc


@shared_task(ignore_result=True)
def roster_sync_due_task() -> int:
    """Celery beat: queue the rosters whose interval has passed."""
    return services.roster_syncs_enqueue_due()
