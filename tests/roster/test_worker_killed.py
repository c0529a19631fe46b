"""A worker killed with SIGKILL in the middle of a roster sync: the beat queues the sync again and another
worker finishes it; nothing half-applied is left (docs/production.md, "Outages and queues")."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.lti.models import Membership
from lms_tool.roster import services
from lms_tool.roster.models import SyncStatus

from ..celery_worker import celery_worker, needs_worker_services, wait_for
from .conftest import reload

pytestmark = [needs_worker_services, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_sync_leaves_the_roster_to_the_next_worker(canvas, course, context, sync, settings):
    env = {"ROSTER_RETRY_BASE_SECONDS": "1", "ROSTER_PAGE_LIMIT": "2"}
    canvas.faults["nrps"] = {"kind": "hang", "page": 2, "seconds": 30, "times": 1}
    members_before = Membership.objects.filter(context=context).count()

    with celery_worker(env=env) as first:
        assert services.roster_sync_enqueue(sync=sync, full=True)
        reading = wait_for(lambda: sum(path.endswith("/memberships") for _, path in canvas.requests_seen) >= 2, 30)
        assert reading, "the sync never reached its second page:\n" + first.output()
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)

    # Pages are read first and applied in one transaction: the killed sync wrote no membership.
    assert Membership.objects.filter(context=context).count() == members_before
    assert reload(sync).status != SyncStatus.OK
    canvas.faults.pop("nrps", None)
    with celery_worker(env=env, purge=False) as second:
        # The beat, one sync interval later, finds the sync due again.
        later = timezone.now() + timedelta(seconds=settings.ROSTER["SYNC_INTERVAL_SECONDS"] + 1)
        assert services.roster_syncs_enqueue_due(now=later) >= 1
        done = wait_for(lambda: reload(sync).status == SyncStatus.OK, 60)
        assert done, "the next worker did not finish the sync:\n" + second.output()

    assert Membership.objects.filter(context=context, is_active=True).count() == 6
