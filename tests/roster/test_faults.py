"""A roster read that fails anywhere changes nothing, says why, and is retried."""

from __future__ import annotations

import pytest

from lms_tool.core.models import DomainEvent
from lms_tool.lti.models import LtiUser, Membership
from lms_tool.roster import services
from lms_tool.roster.models import SyncStatus
from lms_tool.sandbox.platform import ROLE, Person

from .conftest import reload

FAULTS = [
    ("media-type", "came as text/html"),
    ("non-json", "is not valid JSON"),
    ("no-user-id", "has no user_id"),
    ("401", "refused access to the roster (HTTP 401)"),
    ("403", "refused access to the roster (HTTP 403)"),
    ("500", "did not deliver page 2"),
]


def snapshot(context):
    rows = Membership.objects.filter(context=context).values_list("user__sub", "roles", "is_active", "updated_at")
    # A failed sync records that it failed (roster.sync_failed) and nothing else.
    return sorted(rows), LtiUser.objects.count(), DomainEvent.objects.exclude(type="roster.sync_failed").count()


@pytest.fixture
def synced(canvas, course, context, sync):
    """A roster synced once; then the platform drops one learner, adds one and changes a role."""
    services.roster_sync(sync=sync)
    del course.members["learner-1"]
    course.members["learner-2"].roles = [ROLE + "Instructor"]
    canvas.enrol(course, Person("learner-7", "Late Joiner", "late@example.edu", [ROLE + "Learner"]))
    return reload(sync)


@pytest.mark.parametrize(("kind", "reason"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_on_the_second_page_changes_nothing_and_is_explained(canvas, context, synced, kind, reason):
    canvas.faults["nrps"] = {"kind": kind, "page": 2}
    before = snapshot(context)

    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=synced, full=True)

    assert snapshot(context) == before
    sync = reload(synced)
    assert sync.status == SyncStatus.FAILED
    assert reason in sync.last_error
    assert sync.consecutive_failures == 1
    assert sync.last_success_at is not None  # the earlier success is still shown
    failed = DomainEvent.objects.get(type="roster.sync_failed")
    assert failed.context_pk == context.pk and reason in failed.data["reason"]


def test_a_timeout_in_the_middle_of_the_pages_changes_nothing(canvas, context, synced, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    canvas.faults["nrps"] = {"kind": "hang", "page": 2, "seconds": 1.0}
    before = snapshot(context)

    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=synced, full=True)

    assert snapshot(context) == before
    assert "did not deliver page 2" in reload(synced).last_error
    assert "Timeout" in reload(synced).last_error


def test_the_first_page_failing_changes_nothing_either(canvas, context, synced):
    canvas.faults["nrps"] = {"kind": "403", "page": 1}
    before = snapshot(context)

    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=synced, full=True)

    assert snapshot(context) == before
    assert "Names and Roles Provisioning scope" in reload(synced).last_error


def test_the_next_sync_after_a_fault_applies_everything(canvas, context, synced):
    canvas.faults["nrps"] = {"kind": "non-json", "page": 3}
    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=synced, full=True)
    canvas.faults.pop("nrps")

    services.roster_sync(sync=reload(synced), full=True)

    sync = reload(synced)
    assert sync.status == SyncStatus.OK and sync.last_error == "" and sync.consecutive_failures == 0
    active = set(Membership.objects.filter(context=context, is_active=True).values_list("user__sub", flat=True))
    assert "learner-1" not in active and "learner-7" in active


def test_a_full_read_listing_nobody_active_is_refused(canvas, course, context, synced):
    for person in course.members.values():
        person.status = "Inactive"
    before = snapshot(context)

    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=synced, full=True)

    assert snapshot(context) == before
    assert "no active members" in reload(synced).last_error


def test_a_course_without_nrps_says_so(context, sync):
    context.nrps_url = ""
    context.save(update_fields=["nrps_url"])

    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=reload(sync))

    assert "no membership URL" in reload(sync).last_error


def test_a_failed_sync_is_retried_by_the_task_until_the_platform_recovers(canvas, context, synced, eager_celery):
    """The task retries with backoff (eager mode runs the retries inline)."""
    from lms_tool.roster import tasks

    canvas.faults["nrps"] = {"kind": "500", "page": 1, "times": 2}

    tasks.roster_sync_task.apply(args=[synced.pk, True])

    assert "nrps" not in canvas.faults  # both faulty answers were read
    sync = reload(synced)
    assert sync.status == SyncStatus.OK
    active = set(Membership.objects.filter(context=context, is_active=True).values_list("user__sub", flat=True))
    assert "learner-7" in active


def test_the_task_gives_up_after_its_retries_and_keeps_the_reason(canvas, context, synced, eager_celery, settings):
    from lms_tool.roster import tasks

    settings.ROSTER = {**settings.ROSTER, "MAX_RETRIES": 2}
    canvas.faults["nrps"] = {"kind": "403", "page": 1}

    tasks.roster_sync_task.apply(args=[synced.pk, True])

    sync = reload(synced)
    assert sync.status == SyncStatus.FAILED and sync.consecutive_failures == 3
    assert "HTTP 403" in sync.last_error
