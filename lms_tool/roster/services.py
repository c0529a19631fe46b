"""Roster sync (docs/architecture.md, "How a roster sync flows"): read every NRPS page first, then apply them in one transaction.

A read that fails anywhere changes nothing: the reason is kept on the ``RosterSync`` row for the
instructor's roster page and the admin, and the task retries with backoff. A full read marks members
the platform no longer lists inactive; ``Inactive``/``Deleted`` members lose access the same way.
Memberships and users are never deleted, so attempts and review history stay.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from lms_tool.core import lean
from lms_tool.core.events import event_record
from lms_tool.core.queue import task_send
from lms_tool.core.services import audit_record
from lms_tool.lti.models import Context, ResourceLink

from . import bulk, nrps
from .models import RosterSync, SyncStatus

logger = logging.getLogger(__name__)
QUEUED_KEY = "roster:queued:"
QUEUED_SECONDS = 120  # a sync asked for again within this window is already on its way


class RosterSyncFailed(Exception):
    def __init__(self, reason: str, *, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _conf(name: str) -> int:
    return int(settings.ROSTER[name])


def _first_url(sync: RosterSync) -> str:
    url = sync.context.nrps_url
    if not url:
        return ""
    params = {"limit": str(_conf("PAGE_LIMIT"))}
    if sync.resource_link is not None:
        params["rlid"] = sync.resource_link.resource_link_id  # NRPS §2.4.3 resource link membership
    return nrps.with_query(url, **params)


def _full_due(sync: RosterSync, now: datetime) -> bool:
    last = sync.last_full_sync_at
    return last is None or now - last >= timedelta(seconds=_conf("FULL_SYNC_SECONDS"))


def roster_sync(*, sync: RosterSync, full: bool = False) -> Counter[str]:
    """Bring one roster up to date with the platform; raises ``RosterSyncFailed`` (recorded) on a failed read."""
    now = timezone.now()
    incremental = bool(sync.differences_url) and not full and not _full_due(sync, now)
    url = sync.differences_url if incremental else _first_url(sync)
    RosterSync.objects.filter(pk=sync.pk).update(last_attempt_at=now, updated_at=now)
    try:
        if not url:
            raise nrps.RosterReadError(
                "The platform has not offered a roster service (Names and Roles) for this "
                "course: its launches carry no membership URL."
            )
        read = nrps.read_all(registration=sync.context.registration, url=url, max_pages=_conf("MAX_PAGES"))
        if not incremental:
            _check_plausible(sync, read)
    except nrps.RosterReadError as exc:
        if incremental and exc.status in (400, 404, 410):
            # The platform forgot the differences link (they expire): read everything instead.
            logger.info("roster %s: differences link refused (%s); reading in full", sync.pk, exc.status)
            RosterSync.objects.filter(pk=sync.pk).update(differences_url="")
            sync.differences_url = ""
            return roster_sync(sync=sync, full=True)
        roster_sync_fail(sync=sync, error=exc)
        raise RosterSyncFailed(exc.reason, retry_after=exc.retry_after) from exc
    return roster_apply(sync=sync, read=read, full=not incremental)


def _check_plausible(sync: RosterSync, read: nrps.RosterRead) -> None:
    # The course only exists here because someone launched from it: a full course read that lists
    # nobody active is a platform fault, and applying it would lock everyone out.
    if sync.resource_link is None and not any(m.is_active for page in read.pages for m in page):
        raise nrps.RosterReadError("The platform listed no active members for this course; nothing was changed.")


@transaction.atomic
def roster_apply(*, sync: RosterSync, read: nrps.RosterRead, full: bool) -> Counter[str]:
    """Write a complete read: memberships per page in bulk, then (full read) deactivate the absent."""
    locked = (
        RosterSync.objects.select_for_update(of=("self",))
        .select_related("context__registration", "resource_link")
        .get(pk=sync.pk)
    )
    context, link = locked.context, locked.resource_link
    state = bulk.memberships_load(context)
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    for page in read.pages:
        bulk.page_apply(context=context, link=link, page=page, state=state, seen=seen, counts=counts)
    if full and link is None:
        bulk.absent_deactivate(context=context, state=state, seen=seen, counts=counts)
    elif full and link is not None:
        counts["link_removed"] = bulk.link_absent_deactivate(link=link, user_pks={state[s].user_pk for s in seen})
    now = timezone.now()
    RosterSync.objects.filter(pk=sync.pk).update(
        status=SyncStatus.OK,
        differences_url=read.differences_url,
        last_error="",
        last_error_detail="",
        consecutive_failures=0,
        last_success_at=now,
        last_counts={"full": full, **counts},
        updated_at=now,
        **({"last_full_sync_at": now} if full else {}),
    )
    logger.info("roster %s synced (%s): %s", sync.pk, "full" if full else "differences", dict(counts))
    return counts


def roster_sync_fail(*, sync: RosterSync, error: nrps.RosterReadError) -> None:
    """Keep why a sync failed where the instructor and admin see it; nothing else changes."""
    now = timezone.now()
    RosterSync.objects.filter(pk=sync.pk).update(
        status=SyncStatus.FAILED,
        last_error=error.reason,
        last_error_detail=error.detail,
        consecutive_failures=F("consecutive_failures") + 1,
        last_failure_at=now,
        updated_at=now,
    )
    logger.warning("roster %s sync failed: %s | platform said: %s", sync.pk, error.reason, error.detail[:300])
    event_record(
        type="roster.sync_failed",
        subject_type="roster_sync",
        subject_id=sync.pk,
        context_pk=sync.context_id,
        data={"reason": error.reason, "consecutive_failures": sync.consecutive_failures + 1},
    )


def roster_sync_for(*, context: Context, resource_link: ResourceLink | None = None) -> RosterSync:
    sync, _ = RosterSync.objects.get_or_create(context=context, resource_link=resource_link)
    return sync


def roster_sync_enqueue(*, sync: RosterSync, full: bool = False) -> bool:
    """Queue a sync once the current transaction commits; False if one is already on its way."""
    if not cache.add(QUEUED_KEY + str(sync.pk), 1, QUEUED_SECONDS):
        return False

    pk = sync.pk
    transaction.on_commit(lambda: task_send("lms_tool.roster.tasks.roster_sync_task", pk, full))
    return True


def roster_sync_dequeued(*, sync_pk: int) -> None:
    """The task started: a new request may queue another sync."""
    cache.delete(QUEUED_KEY + str(sync_pk))


def roster_sync_enqueue_after_launch(*, context_pk: int) -> bool:
    """Called by the launch once it recorded the course (``LtiLaunch.context_pk``): the first launch in a course
    with NRPS queues its first full sync. Later launches cost one indexed query: once the course has its sync
    row, the beat (``roster_syncs_enqueue_due``) picks up a first sync whose task was lost."""
    if lean.exists(RosterSync, {"context": context_pk, "resource_link": None}):
        return False
    context = Context.objects.filter(pk=context_pk).exclude(nrps_url="").first()
    if context is None:
        return False
    return roster_sync_enqueue(sync=roster_sync_for(context=context), full=True)


def roster_sync_request(
    *, context: Context, resource_link: ResourceLink | None = None, actor_type: str, actor_id: str
) -> tuple[RosterSync, bool]:
    """An instructor or admin asked for a sync now (a full one); audited."""
    sync = roster_sync_for(context=context, resource_link=resource_link)
    queued = roster_sync_enqueue(sync=sync, full=True)
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="roster.sync_requested",
        object_type="roster_sync",
        object_id=sync.pk,
        after={"queued": queued},
    )
    return sync, queued


def roster_syncs_enqueue_due(*, now: datetime | None = None) -> int:
    """The beat's job: queue every roster not attempted within ROSTER_SYNC_INTERVAL_SECONDS."""
    now = now or timezone.now()
    without_row = Context.objects.exclude(nrps_url="").filter(
        ~Exists(RosterSync.objects.filter(context=OuterRef("pk"), resource_link__isnull=True))
    )
    RosterSync.objects.bulk_create([RosterSync(context=c) for c in without_row], ignore_conflicts=True)
    due = (
        RosterSync.objects.exclude(context__nrps_url="")
        .filter(
            Q(last_attempt_at__isnull=True)
            | Q(last_attempt_at__lt=now - timedelta(seconds=_conf("SYNC_INTERVAL_SECONDS")))
        )
        .order_by(F("last_attempt_at").asc(nulls_first=True))[: _conf("DUE_BATCH")]
    )
    return sum(roster_sync_enqueue(sync=sync) for sync in due)
