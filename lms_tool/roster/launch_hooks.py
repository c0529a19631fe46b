"""The roster's part in a launch: refuse a member the roster revoked, queue the first sync of a course."""

from __future__ import annotations

import logging

from lms_tool.lti import claims as c
from lms_tool.lti.errors import LaunchError
from lms_tool.lti.launch import ValidatedLaunch
from lms_tool.lti.models import Context
from lms_tool.lti.types import LtiLaunch

from . import selectors, services

logger = logging.getLogger(__name__)


def refuse_revoked_member(validated: ValidatedLaunch) -> None:
    """A member the platform's roster dropped (Inactive, Deleted or gone) keeps no access by launching.

    The platform may have re-enrolled them since the last sync, so a full sync is queued: if the
    roster lists them again, their next launch works."""
    context = validated.claims.get(c.CONTEXT) or {}
    if not isinstance(context, dict) or not context.get("id"):
        return
    registration = validated.registration
    if not selectors.membership_is_revoked(
        registration=registration, context_id=str(context["id"]), sub=str(validated.claims.get("sub", ""))
    ):
        return
    course = Context.objects.filter(registration=registration, context_id=str(context["id"])).first()
    if course is not None and course.nrps_url:
        services.roster_sync_enqueue(sync=services.roster_sync_for(context=course), full=True)
    raise LaunchError(
        "membership_revoked",
        "Your enrollment in this course is no longer active, so this activity is closed to you. "
        "If you were enrolled again, try again in a few minutes.",
        admin_hint="The course roster (NRPS) lists this person as Inactive, Deleted or absent. A roster sync has "
        "been queued; if the platform lists them again, their next launch is accepted.",
        status=403,
    )


def queue_first_sync(lti_launch: LtiLaunch) -> None:
    if lti_launch.context_pk is not None:
        services.roster_sync_enqueue_after_launch(context_pk=lti_launch.context_pk)


def refuse_revoked_page(lti_launch: LtiLaunch) -> None:
    """Pages opened with a launch taken before the member was dropped are refused too."""
    if selectors.launch_is_revoked(launch=lti_launch):
        raise LaunchError(
            "membership_revoked",
            "Your enrollment in this course is no longer active, so this activity is closed to you.",
            admin_hint="The course roster (NRPS) dropped this person after they launched the tool.",
            status=403,
        )
