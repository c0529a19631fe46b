"""The roster's part in a launch: refuse a member the roster revoked (unless the launch is newer and says they are
enrolled again), queue the first sync of a course. Pages are checked by the seam (``lti.selectors.launch_scope``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.utils.translation import gettext_lazy as _

from lms_tool.lti import claims as c
from lms_tool.lti.errors import LaunchError
from lms_tool.lti.launch import ValidatedLaunch
from lms_tool.lti.models import Context
from lms_tool.lti.selectors import claims_say_active_member
from lms_tool.lti.types import LtiLaunch

from . import services

logger = logging.getLogger(__name__)


def refuse_revoked_member(validated: ValidatedLaunch) -> None:
    """A member the platform's roster dropped (Inactive, Deleted or gone) keeps no access by an old launch.

    A launch the platform signed after the revocation, naming them an active member of the course (roles
    present, not ``Inactive``), is the platform saying they were enrolled again: it is accepted, and recording
    it reactivates the membership (``lti.services``). Otherwise a full sync is queued and the launch refused."""
    context = validated.claims.get(c.CONTEXT) or {}
    if not isinstance(context, dict) or not context.get("id"):
        return
    registration = validated.registration
    # The membership row the launch reads once (its record of a repeat launch uses the same row).
    membership = validated.membership()
    if membership is None or membership.is_active:
        return
    revoked_at = membership.revoked_at or membership.updated_at  # revoked before the time was kept: its last change
    issued_at = datetime.fromtimestamp(float(validated.claims["iat"]), tz=UTC)
    if issued_at > revoked_at and claims_say_active_member(list(validated.claims.get(c.ROLES) or [])):
        logger.info("a launch newer than the revocation names a dropped member active again: access restored")
        return
    course = Context.objects.filter(registration=registration, context_id=str(context["id"])).first()
    if course is not None and course.nrps_url:
        services.roster_sync_enqueue(sync=services.roster_sync_for(context=course), full=True)
    raise LaunchError(
        "membership_revoked",
        _(
            "Your enrollment in this course is no longer active, so this activity is closed to you. "
            "If you were enrolled again, open the activity again from your course."
        ),
        admin_hint=_(
            "The course roster (NRPS) lists this person as Inactive, Deleted or absent, and this launch "
            "does not name them an active member after that. A roster sync has been queued."
        ),
        status=403,
    )


def queue_first_sync(lti_launch: LtiLaunch) -> None:
    if lti_launch.context_pk is not None:
        services.roster_sync_enqueue_after_launch(context_pk=lti_launch.context_pk)
