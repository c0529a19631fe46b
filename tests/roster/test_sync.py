"""Roster sync against the sandbox platform's NRPS endpoint over real HTTP."""

from __future__ import annotations

from lms_tool.core.models import DomainEvent
from lms_tool.lti.models import LtiUser, Membership, ResourceLink
from lms_tool.roster import services
from lms_tool.roster.models import ResourceLinkMember, RosterSync, SyncStatus
from lms_tool.roster.selectors import link_members
from lms_tool.sandbox.platform import ROLE, Person
from lms_tool.sandbox.services import nrps as sandbox_nrps

from .conftest import TA, reload


def active_subs(context):
    return set(Membership.objects.filter(context=context, is_active=True).values_list("user__sub", flat=True))


def events(type_):
    return list(DomainEvent.objects.filter(type=type_).order_by("id"))


def test_it_reads_every_page_and_records_every_member(canvas, course, context, sync):
    counts = services.roster_sync(sync=sync)

    # 1 instructor + 5 learners in pages of 2: three pages, each next link followed as sent.
    assert sandbox_nrps.state(canvas).pages_served == 3
    assert counts["members"] == 6
    assert active_subs(context) == {"instructor-1", *(f"learner-{i}" for i in range(1, 6))}
    user = LtiUser.objects.get(registration=context.registration, sub="learner-3")
    assert (user.name, user.email) == ("Learner 3", "learner3@example.edu")
    sync = reload(sync)
    assert sync.status == SyncStatus.OK and sync.last_error == ""
    assert "since=Df" in sync.differences_url
    assert len(events("enrollment.added")) == 5  # the instructor was already a member from the launch


def test_the_next_link_keeps_its_case(canvas, course, context, sync):
    """pylti1p3 lowercases the next URL (docs/platforms.md, pylti1p3 defect 7); the sandbox refuses a lowercased one."""
    services.roster_sync(sync=sync)

    assert sandbox_nrps.state(canvas).pages_served == 3
    assert reload(sync).status == SyncStatus.OK


def test_a_full_sync_marks_members_the_platform_dropped_inactive(canvas, course, context, sync):
    services.roster_sync(sync=sync)
    del course.members["learner-2"]

    services.roster_sync(sync=sync, full=True)

    membership = Membership.objects.get(context=context, user__sub="learner-2")
    assert membership.is_active is False
    assert LtiUser.objects.filter(sub="learner-2").exists()  # kept, with its history
    removed = events("enrollment.removed")
    assert [e.data["user_id"] for e in removed] == ["learner-2"]
    assert removed[0].data["reason"] == "no longer listed by the platform"


def test_inactive_and_deleted_statuses_revoke_access(canvas, course, context, sync):
    services.roster_sync(sync=sync)
    course.members["learner-1"].status = "Inactive"
    course.members["learner-4"].status = "Deleted"

    services.roster_sync(sync=sync, full=True)

    assert "learner-1" not in active_subs(context) and "learner-4" not in active_subs(context)
    assert sorted(e.data["reason"] for e in events("enrollment.removed")) == ["status Deleted", "status Inactive"]


def test_an_incremental_sync_uses_the_differences_link(canvas, course, context, sync):
    services.roster_sync(sync=sync)
    del course.members["learner-5"]
    course.members["learner-1"].roles = [TA]
    canvas.enrol(course, Person("learner-9", "New Person", "new@example.edu", [ROLE + "Learner"]))
    served = sandbox_nrps.state(canvas).pages_served

    services.roster_sync(sync=reload(sync))

    assert reload(sync).last_counts["full"] is False
    # Only the three changes came back: two pages of 2 instead of four pages.
    assert sandbox_nrps.state(canvas).pages_served - served == 2
    assert "learner-5" not in active_subs(context)
    assert "learner-9" in active_subs(context)
    changed = events("enrollment.role_changed")
    assert [e.data["user_id"] for e in changed] == ["learner-1"]
    assert changed[0].data["roles"] == [TA] and changed[0].data["previous_roles"] == [ROLE + "Learner"]


def test_an_expired_differences_link_falls_back_to_a_full_read(canvas, course, context, sync):
    services.roster_sync(sync=sync)
    sync = reload(sync)
    sync.differences_url = sync.differences_url.split("since=")[0] + "since=DfExpired"
    sync.save(update_fields=["differences_url"])
    del course.members["learner-3"]

    services.roster_sync(sync=sync)

    assert reload(sync).last_counts["full"] is True
    assert "learner-3" not in active_subs(context)


def test_a_resource_link_sync_lists_only_who_can_reach_the_link(canvas, course, context, sync):
    link = ResourceLink.objects.get(context=context, resource_link_id="rl-1")
    sandbox_nrps.link_add(canvas, course, "rl-1", {"instructor-1", "learner-1", "learner-2"})
    link_sync = services.roster_sync_for(context=context, resource_link=link)

    services.roster_sync(sync=link_sync)

    assert {m.user.sub for m in link_members(resource_link=link)} == {"instructor-1", "learner-1", "learner-2"}
    # The course roster is not narrowed by a link's list.
    assert Membership.objects.filter(context=context, is_active=True).count() == 3

    sandbox_nrps.link_add(canvas, course, "rl-1", {"instructor-1", "learner-1"})
    services.roster_sync(sync=reload(link_sync), full=True)

    assert {m.user.sub for m in link_members(resource_link=link)} == {"instructor-1", "learner-1"}
    assert ResourceLinkMember.objects.get(resource_link=link, user__sub="learner-2").is_active is False
    assert Membership.objects.get(context=context, user__sub="learner-2").is_active is True


def test_a_returning_member_is_added_again(canvas, course, context, sync):
    services.roster_sync(sync=sync)
    course.members["learner-2"].status = "Inactive"
    services.roster_sync(sync=sync, full=True)
    course.members["learner-2"].status = "Active"

    services.roster_sync(sync=sync, full=True)

    assert "learner-2" in active_subs(context)
    assert [e.data["reason"] for e in events("enrollment.added") if e.data["user_id"] == "learner-2"][-1] == (
        "active again on the platform"
    )


def test_a_sync_without_changes_writes_nothing(canvas, course, context, sync):
    services.roster_sync(sync=sync)
    before = DomainEvent.objects.count()
    stamps = dict(Membership.objects.filter(context=context).values_list("pk", "updated_at"))

    services.roster_sync(sync=sync, full=True)

    assert DomainEvent.objects.count() == before
    assert dict(Membership.objects.filter(context=context).values_list("pk", "updated_at")) == stamps


def test_names_a_launch_gave_are_kept_when_nrps_leaves_them_out(canvas, course, context, sync):
    course.members["instructor-1"].name = ""
    course.members["instructor-1"].given_name = ""
    course.members["instructor-1"].family_name = ""
    course.members["instructor-1"].email = ""

    services.roster_sync(sync=sync)

    user = LtiUser.objects.get(registration=context.registration, sub="instructor-1")
    assert (user.name, user.email) == ("Ada Instructor", "ada@example.edu")


def test_the_first_launch_queues_a_sync_and_later_ones_do_not(canvas, course, context, eager_celery):
    # The fixture's launch was the course's first: it created the sync row and queued the sync.
    sync = RosterSync.objects.get(context=context, resource_link=None)
    assert sync.status != SyncStatus.OK  # queued, not run: no worker in this test

    assert services.roster_sync_enqueue_after_launch(context_pk=context.pk) is False

    RosterSync.objects.filter(pk=sync.pk).delete()  # a course whose first launch predates the roster
    assert services.roster_sync_enqueue_after_launch(context_pk=context.pk) is True
    assert reload(services.roster_sync_for(context=context)).status == SyncStatus.OK


def test_a_course_without_nrps_queues_nothing_at_launch(context):
    context.nrps_url = ""
    context.save(update_fields=["nrps_url"])

    assert services.roster_sync_enqueue_after_launch(context_pk=context.pk) is False
