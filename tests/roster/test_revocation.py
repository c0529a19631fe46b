"""A member the roster sync deactivated keeps no access by an old launch; their history stays. A launch the
platform signs after the revocation, naming them an active member, restores access; people a roster never
listed are never revoked by it."""

from __future__ import annotations

from datetime import timedelta

import requests
from django.utils import timezone

from lms_tool.lti.models import LtiUser, Membership
from lms_tool.lti.services import launch_get
from lms_tool.roster import services
from lms_tool.roster.selectors import launch_is_revoked, membership_is_revoked
from lms_tool.sandbox.platform import INSTITUTION_ROLE, LaunchSpec, Person

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


def signed_minutes_ago(minutes: int):  # type: ignore[no-untyped-def]
    def hook(claims: dict) -> dict:  # type: ignore[type-arg]
        claims["iat"] = int((timezone.now() - timedelta(minutes=minutes)).timestamp())
        return claims

    return hook


def without_roles(claims: dict) -> dict:  # type: ignore[type-arg]
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = []
    return claims


def test_a_launch_signed_before_the_revocation_is_refused(canvas, course, learners, context, sync):
    revoke(course, sync, "learner-1")

    response = launch(canvas, LaunchSpec(learners[0], course, claims_hook=signed_minutes_ago(2)))

    assert response.status_code == 403
    assert error_code(response) == "membership_revoked"
    assert "no longer active" in response.text
    assert Membership.objects.get(context=context, user__sub="learner-1").is_active is False
    assert LtiUser.objects.filter(sub="learner-1").exists()


def test_a_newer_launch_that_names_no_role_in_the_course_is_refused(canvas, course, learners, context, sync):
    revoke(course, sync, "learner-1")
    Membership.objects.filter(user__sub="learner-1").update(revoked_at=timezone.now() - timedelta(minutes=1))

    response = launch(canvas, LaunchSpec(learners[0], course, claims_hook=without_roles))

    assert response.status_code == 403 and error_code(response) == "membership_revoked"
    assert Membership.objects.get(context=context, user__sub="learner-1").is_active is False


def test_a_newer_launch_naming_the_member_active_restores_access(canvas, course, learners, context, sync):
    revoke(course, sync, "learner-1")
    revoked = Membership.objects.get(context=context, user__sub="learner-1")
    Membership.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now() - timedelta(minutes=1))

    response = launch(canvas, LaunchSpec(learners[0], course))

    assert response.status_code == 200
    assert Membership.objects.get(pk=revoked.pk).is_active is True


def test_a_sync_revokes_only_people_a_roster_has_listed(canvas, course, learners, context, sync):
    admin = Person("site-admin", "Site Admin", "admin@example.edu", [INSTITUTION_ROLE + "Administrator"])
    assert launch(canvas, LaunchSpec(admin, course)).status_code == 200  # launches unenrolled

    revoke(course, sync, "learner-1", status="Deleted")

    memberships = {m.user.sub: m for m in Membership.objects.filter(context=context).select_related("user")}
    assert memberships["site-admin"].is_active and memberships["site-admin"].roster_listed_at is None
    assert not memberships["learner-1"].is_active and memberships["learner-1"].revoked_at is not None
    assert memberships["learner-2"].is_active and memberships["learner-2"].roster_listed_at is not None


def test_pages_of_a_launch_taken_before_the_revocation_are_refused(canvas, course, learners, context, sync, tool_url):
    response = launch(canvas, LaunchSpec(learners[0], course, claims_hook=signed_minutes_ago(3)))
    assert response.status_code == 200

    revoke(course, sync, "learner-1", status="Deleted")
    again = requests.get(response.url, timeout=10)

    assert again.status_code == 403
    assert error_code(again) == "membership_revoked"

    # Re-enrolled, with a new launch: the new launch's pages work, the old one's stay refused.
    Membership.objects.filter(user__sub="learner-1").update(revoked_at=timezone.now() - timedelta(minutes=1))
    course.members["learner-1"].status = "Active"
    fresh = launch(canvas, LaunchSpec(learners[0], course))
    assert fresh.status_code == 200 and requests.get(fresh.url, timeout=10).status_code == 200
    assert requests.get(response.url, timeout=10).status_code == 403
