"""Reads for the roster page, the admin and the launch (is this member's access revoked?)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from django.db import connections, router
from django.db.models import QuerySet

from lms_tool.core import lean
from lms_tool.lti.models import Context, LtiUser, Membership, Registration, ResourceLink
from lms_tool.lti.selectors import membership_is_current
from lms_tool.lti.types import LtiLaunch

from .models import ResourceLinkMember, RosterSync

SORT_IN_MEMORY = 3000


def membership_is_revoked(*, registration: Registration, context_id: str, sub: str) -> bool:
    """True when the roster sync took this person's membership of the course away (Inactive, Deleted or no
    longer listed). Checked by the launch before it records anything, so a launch cannot undo a revocation."""
    # Asked on every launch: one fixed join, without the ORM's query compilation (lms_tool.core.lean).
    with connections[router.db_for_read(Membership)].cursor() as cursor:
        cursor.execute(_revoked_sql(), [registration.pk, context_id, registration.pk, sub, False])
        return cursor.fetchone() is not None


@functools.cache
def _revoked_sql() -> str:  # built once, when the models are ready
    m, x, u = (model._meta for model in (Membership, Context, LtiUser))
    return (
        f"SELECT 1 FROM {m.db_table} m JOIN {x.db_table} x ON m.context_id = x.id "  # noqa: S608 - model names only
        f"JOIN {u.db_table} u ON m.user_id = u.id "
        "WHERE x.registration_id = %s AND x.context_id = %s AND u.registration_id = %s AND u.sub = %s "
        "AND m.is_active = %s LIMIT 1"
    )


def membership_revoked_at(*, registration: Registration, context_id: str, sub: str) -> datetime | None:
    """When the roster took this person's membership of the course away, or None when it is not revoked (a
    membership revoked before the time was kept counts from its last change)."""
    if not membership_is_revoked(registration=registration, context_id=context_id, sub=sub):
        return None  # the common case stays one lean query
    found = (
        Membership.objects.filter(
            context__registration=registration,
            context__context_id=context_id,
            user__registration=registration,
            user__sub=sub,
            is_active=False,
        )
        .values_list("revoked_at", "updated_at")
        .first()
    )
    if found is None:
        return None
    return found[0] or found[1]


def launch_is_revoked(*, launch: LtiLaunch) -> bool:
    """For pages and API calls made with a launch taken before the revocation (the seam's membership rule)."""
    if launch.membership_pk is None:
        return False
    membership = lean.first(Membership, {"id": launch.membership_pk})
    return membership is None or not membership_is_current(membership, issued_at=launch.issued_at)


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
