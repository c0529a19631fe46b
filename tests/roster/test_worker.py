"""The sync in a real Celery worker process, against Redis and PostgreSQL, retrying a platform fault."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from lms_tool.lti.models import Membership
from lms_tool.roster import services
from lms_tool.roster.models import SyncStatus

from .conftest import reload

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs a real broker and a database another process can read: set REDIS_URL and a postgres:// "
        "DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]
BASE_DIR = Path(__file__).resolve().parents[2]


def worker_database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker():  # type: ignore[no-untyped-def]
    from lti_config.celery import app

    app.control.purge()  # messages queued by earlier tests name rows this database does not have
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "ROSTER_RETRY_BASE_SECONDS": "1",
        "ROSTER_PAGE_LIMIT": "2",
        "LOG_LEVEL": "INFO",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lti_config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def wait_for(predicate, *, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_syncs_the_roster_and_retries_after_a_platform_fault(canvas, course, context, sync, worker):
    canvas.faults["nrps"] = {"kind": "500", "page": 2, "times": 1}

    assert services.roster_sync_enqueue(sync=sync, full=True)

    done = wait_for(lambda: reload(sync).status == SyncStatus.OK)
    if not done:
        worker.terminate()
        pytest.fail("the worker did not finish the sync:\n" + worker.communicate(timeout=15)[0].decode()[-3000:])
    assert "nrps" not in canvas.faults  # the fault fired once, then the retry read every page
    synced = reload(sync)
    assert synced.last_failure_at is not None and synced.consecutive_failures == 0
    assert Membership.objects.filter(context=context, is_active=True).count() == 6
