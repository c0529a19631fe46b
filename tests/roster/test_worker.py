"""The sync in a real Celery worker process, against Redis and PostgreSQL, retrying a platform fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.lti.models import Membership
from lms_tool.roster import services
from lms_tool.roster.models import SyncStatus

from ..celery_worker import Worker, celery_worker, needs_worker_services, wait_for
from .conftest import reload

pytestmark = [needs_worker_services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker() -> Iterator[Worker]:
    with celery_worker(env={"ROSTER_RETRY_BASE_SECONDS": "1", "ROSTER_PAGE_LIMIT": "2"}) as running:
        yield running


def test_a_worker_syncs_the_roster_and_retries_after_a_platform_fault(canvas, course, context, sync, worker):
    canvas.faults["nrps"] = {"kind": "500", "page": 2, "times": 1}

    assert services.roster_sync_enqueue(sync=sync, full=True)

    done = wait_for(lambda: reload(sync).status == SyncStatus.OK)
    assert done, "the worker did not finish the sync:\n" + worker.output()
    assert "nrps" not in canvas.faults  # the fault fired once, then the retry read every page
    synced = reload(sync)
    assert synced.last_failure_at is not None and synced.consecutive_failures == 0
    assert Membership.objects.filter(context=context, is_active=True).count() == 6
