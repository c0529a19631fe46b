"""When syncs run: the beat queues every roster whose interval has passed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from lms_tool.roster import services
from lms_tool.roster.models import RosterSync, SyncStatus

from .conftest import reload


def test_the_beat_schedule_runs_the_due_task():
    entry = settings.CELERY_BEAT_SCHEDULE["roster-sync-due"]
    assert entry["task"] == "lms_tool.roster.tasks.roster_sync_due_task"
    assert entry["schedule"] == float(settings.ROSTER["BEAT_SECONDS"])


def test_the_due_task_syncs_a_course_never_synced(canvas, course, context, eager_celery):
    RosterSync.objects.filter(context=context).delete()  # as if the launch had queued nothing

    from lms_tool.roster import tasks

    assert tasks.roster_sync_due_task.apply().get() == 1

    sync = RosterSync.objects.get(context=context, resource_link=None)
    assert sync.status == SyncStatus.OK


def test_a_roster_is_due_again_after_the_interval(canvas, course, context, sync, eager_celery, settings):
    settings.ROSTER = {**settings.ROSTER, "SYNC_INTERVAL_SECONDS": 600}
    services.roster_sync(sync=sync)

    assert services.roster_syncs_enqueue_due() == 0
    later = timezone.now() + timedelta(seconds=601)
    assert services.roster_syncs_enqueue_due(now=later) == 1
    assert reload(sync).last_attempt_at is not None
