"""A member the roster sync deactivated cannot launch again; their history stays."""

from __future__ import annotations

import requests

from lms_tool.lti.models import LtiUser, Membership
from lms_tool.lti.services import launch_get
from lms_tool.roster import services
from lms_tool.roster.selectors import launch_is_revoked, membership_is_revoked
from lms_tool.sandbox.platform import LaunchSpec

from ..lti.flow import error_code, launch
from .test_roster_page import launch_id


def revoke(course, sync, user_id: str, status: str = "Inactive") -> None:
    services.roster_sync(sync=sync)
    course.members[user_id].status = status
    services.roster_sync(sync=sync, full=True)


def test_the_selector_knows_who_was_revoked(canvas, course, context, sync):
    revoke(course, sync, "learner-1")

    registration = context.registration
    assert membership_is_revoked(registration=registration, context_id=context.context_id, sub="learner-1")
    assert not membership_is_revoked(registration=registration, context_id=context.context_id, sub="learner-2")
    assert not membership_is_revoked(registration=registration, context_id=context.context_id, sub="stranger")


def test_a_launch_taken_before_the_revocation_is_revoked_too(canvas, course, learners, context, sync):
    lid = launch_id(launch(canvas, LaunchSpec(learners[0], course)))
    lti_launch = launch_get(launch_id=lid)
    assert lti_launch is not None and not launch_is_revoked(launch=lti_launch)

    revoke(course, sync, "learner-1", status="Deleted")

    assert launch_is_revoked(launch=lti_launch)


def test_a_revoked_member_is_refused_at_the_next_launch(canvas, course, learners, context, sync):
    revoke(course, sync, "learner-1")

    response = launch(canvas, LaunchSpec(learners[0], course))

    assert response.status_code == 403
    assert error_code(response) == "membership_revoked"
    assert "no longer active" in response.text
    assert Membership.objects.get(context=context, user__sub="learner-1").is_active is False
    assert LtiUser.objects.filter(sub="learner-1").exists()


def test_pages_of_a_launch_taken_before_the_revocation_are_refused(canvas, course, learners, context, sync, tool_url):
    response = launch(canvas, LaunchSpec(learners[0], course))
    assert response.status_code == 200

    revoke(course, sync, "learner-1", status="Deleted")
    again = requests.get(response.url, timeout=10)

    assert again.status_code == 403
    assert error_code(again) == "membership_revoked"
