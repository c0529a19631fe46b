"""Reads for the roster page, the admin and the launch (is this member's access revoked?)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from lms_tool.lti.models import Context, Membership, Registration, ResourceLink
from lms_tool.lti.types import LtiLaunch

from .models import ResourceLinkMember, RosterSync

SORT_IN_MEMORY = 3000


def membership_is_revoked(*, registration: Registration, context_id: str, sub: str) -> bool:
    """True when the roster sync took this person's membership of the course away (Inactive, Deleted or no
    longer listed). Checked by the launch before it records anything, so a launch cannot undo a revocation."""
    return Membership.objects.filter(
        context__registration=registration,
        context__context_id=context_id,
        user__registration=registration,
        user__sub=sub,
        is_active=False,
    ).exists()


def launch_is_revoked(*, launch: LtiLaunch) -> bool:
    """For pages and API calls made with a launch taken before the revocation."""
    if launch.membership_pk is None:
        return False
    return Membership.objects.filter(pk=launch.membership_pk, is_active=False).exists()


def roster_sync_get(*, context: Context, resource_link: ResourceLink | None = None) -> RosterSync | None:
    return RosterSync.objects.filter(context=context, resource_link=resource_link).first()


def roster_members(*, context: Context) -> Sequence[Membership] | QuerySet[Membership]:
    """Members of a course for the roster page: active first, then by name. Names are encrypted at rest
    (privacy), so the database cannot sort by them: a course up to SORT_IN_MEMORY members is sorted here,
    a larger one is listed in enrolment order."""
    members = Membership.objects.filter(context=context).select_related("user")
    if members.count() > SORT_IN_MEMORY:
        return members.order_by("-is_active", "pk")
    return sorted(members, key=lambda m: (not m.is_active, (m.user.name or m.user.sub).casefold(), m.pk))


def link_members(*, resource_link: ResourceLink) -> QuerySet[ResourceLinkMember]:
    """Who the platform says can reach one resource link (after an ``rlid`` sync)."""
    return ResourceLinkMember.objects.filter(resource_link=resource_link, is_active=True).select_related("user")
