"""Apply a roster read to the database: a constant number of statements per page, whatever its size.

Per page: one SELECT of the page's users, one upsert of the new or changed ones, one upsert of the
changed memberships, one INSERT of their domain events (and one upsert of link members for ``rlid``).
The course's memberships are loaded once per sync, so deciding what changed costs no statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from django.utils import timezone

from lms_tool.core.events import event_record_many
from lms_tool.lti.models import Context, LtiUser, Membership, Registration, ResourceLink

from .models import ResourceLinkMember
from .nrps import Member
from .roles import role_names

CHUNK = 1000


def batched(items: list[Any], size: int) -> Iterable[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class Row:
    """A membership as the database holds it."""

    pk: int
    user_pk: int
    roles: list[str]
    is_active: bool
    # When a roster read first listed them (None: never, e.g. a site admin who launched unenrolled).
    listed_at: datetime | None = None
    revoked_at: datetime | None = None


def memberships_load(context: Context) -> dict[str, Row]:
    """Every membership of the course by user ``sub``: one query."""
    rows = Membership.objects.filter(context=context).values_list(
        "user__sub", "pk", "user_id", "roles", "is_active", "roster_listed_at", "revoked_at"
    )
    return {
        sub: Row(pk, user_pk, list(roles or []), active, listed, revoked)
        for sub, pk, user_pk, roles, active, listed, revoked in rows
    }


def users_upsert(registration: Registration, members: dict[str, Member]) -> dict[str, int]:
    """User pks by ``sub`` for ``members``, creating or renaming users as the platform lists them."""
    existing = {
        sub: (pk, name, email)
        for sub, pk, name, email in LtiUser.objects.filter(
            registration=registration, sub__in=list(members)
        ).values_list("sub", "pk", "name", "email")
    }
    pks = {sub: found[0] for sub, found in existing.items()}
    changed = []
    for sub, member in members.items():
        old = existing.get(sub)
        # NRPS may leave out names and emails (privacy settings): never blank what a launch told us.
        name = member.name or (old[1] if old else "")
        email = member.email or (old[2] if old else "")
        if old is None or (name, email) != (old[1], old[2]):
            changed.append(LtiUser(registration=registration, sub=sub, name=name, email=email))
    if changed:
        LtiUser.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["registration", "sub"],
            update_fields=["name", "email", "updated_at"],
        )
        pks.update({u.sub: u.pk for u in changed})
        _fill_missing_pks(pks, LtiUser.objects.filter(registration=registration), "sub")
    return pks


def _fill_missing_pks(pks: dict[Any, Any], queryset: Any, key: str) -> None:
    # Upserts return primary keys on PostgreSQL and SQLite >= 3.35; elsewhere look them up.
    missing = [k for k, pk in pks.items() if pk is None]
    if missing:
        pks.update(dict(queryset.filter(**{f"{key}__in": missing}).values_list(key, "pk")))


def _change(old: Row | None, member: Member) -> tuple[str | None, str] | None:
    """(event type, reason) when ``member`` changes the membership ``old``; None when nothing changes."""
    if old is None:
        return ("enrollment.added" if member.is_active else None), "listed by the platform"
    if old.is_active and not member.is_active:
        return "enrollment.removed", f"status {member.status}"
    if member.is_active and not old.is_active:
        return "enrollment.added", "active again on the platform"
    if role_names(old.roles) != role_names(member.roles):
        return ("enrollment.role_changed" if member.is_active else None), "roles changed"
    return None


def page_apply(
    *,
    context: Context,
    link: ResourceLink | None,
    page: list[Member],
    state: dict[str, Row],
    seen: set[str],
    counts: Counter[str],
) -> None:
    """Write one page's changes; ``state`` and ``seen`` carry what earlier pages did."""
    members = {m.user_id: m for m in page}  # a member listed twice on a page: the last entry wins
    user_pks = users_upsert(context.registration, members)
    rows: list[Membership] = []
    events: list[tuple[str, str, Member, Row | None]] = []
    now = timezone.now()
    for sub, member in members.items():
        seen.add(sub)
        old = state.get(sub)
        change = _change(old, member)
        first_listed = old is None or old.listed_at is None
        if change is None and not first_listed:
            continue
        roles = list(member.roles) if old is None or role_names(old.roles) != role_names(member.roles) else old.roles
        # The revocation time: pages opened with a launch signed before it stay refused (lti.selectors).
        revoked = old.revoked_at if old is not None else None
        if not member.is_active and (old is None or old.is_active):
            revoked = now
        rows.append(
            Membership(
                context=context,
                user_id=user_pks[sub],
                roles=roles,
                is_active=member.is_active,
                roster_listed_at=old.listed_at if old is not None and old.listed_at else now,
                revoked_at=revoked,
            )
        )
        if change is not None and change[0]:
            events.append((change[0], change[1], member, old))
    saved = Membership.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["context", "user"],
        update_fields=["roles", "is_active", "roster_listed_at", "revoked_at", "updated_at"],
    )
    by_user = {row.user_id: row.pk for row in saved}
    _fill_missing_pks(by_user, Membership.objects.filter(context=context), "user_id")
    subs = {pk: sub for sub, pk in user_pks.items()}
    for row in saved:
        state[subs[row.user_id]] = Row(
            by_user[row.user_id], row.user_id, row.roles, row.is_active, row.roster_listed_at, row.revoked_at
        )
    _events_record(context, [(t, why, m, state[m.user_id], old) for t, why, m, old in events], counts)
    counts["members"] += len(members)
    if link is not None:
        link_members_upsert(link, [(user_pks[sub], m.is_active) for sub, m in members.items()])


def _events_record(
    context: Context, changes: Sequence[tuple[str, str, Member | None, Row, Row | None]], counts: Counter[str]
) -> None:
    events = []
    for type_, reason, member, row, old in changes:
        data: dict[str, Any] = {
            "context_id": context.context_id,
            "user_id": member.user_id if member else "",
            "roles": row.roles,
            "is_active": row.is_active,
            "reason": reason,
        }
        if type_ == "enrollment.role_changed" and old is not None:
            data["previous_roles"] = old.roles
        events.append(
            {"type": type_, "subject_type": "membership", "subject_id": row.pk, "data": data, "context_pk": context.pk}
        )
        counts[type_.split(".")[1]] += 1
    if events:
        event_record_many(events=events)


def absent_deactivate(*, context: Context, state: dict[str, Row], seen: set[str], counts: Counter[str]) -> None:
    """A full read did not list these active members it listed before: they lose access (their history stays).

    People a roster has never listed keep access: platforms leave out some who may launch (Moodle site
    administrators, Canvas sub-account administrators), and the roster cannot speak for them."""
    absent = [(sub, row) for sub, row in state.items() if row.is_active and sub not in seen and row.listed_at]
    kept = sum(1 for sub, row in state.items() if row.is_active and sub not in seen and not row.listed_at)
    if kept:
        counts["never_listed_kept"] += kept
    now = timezone.now()
    for chunk in batched(absent, CHUNK):
        Membership.objects.filter(pk__in=[row.pk for _, row in chunk]).update(
            is_active=False, revoked_at=now, updated_at=now
        )
        changes = []
        for sub, row in chunk:
            row.is_active = False
            row.revoked_at = now
            member = Member(user_id=sub, roles=tuple(row.roles), status="Deleted")
            changes.append(("enrollment.removed", "no longer listed by the platform", member, row, None))
        _events_record(context, changes, counts)


def link_members_upsert(link: ResourceLink, members: Iterable[tuple[int, bool]]) -> None:
    objs = [ResourceLinkMember(resource_link=link, user_id=pk, is_active=active) for pk, active in members]
    ResourceLinkMember.objects.bulk_create(
        objs, update_conflicts=True, unique_fields=["resource_link", "user"], update_fields=["is_active", "updated_at"]
    )


def link_absent_deactivate(*, link: ResourceLink, user_pks: set[int]) -> int:
    """Members of a resource link that a full ``rlid`` read no longer lists lose it."""
    rows = ResourceLinkMember.objects.filter(resource_link=link, is_active=True).values_list("pk", "user_id")
    stale = [pk for pk, user_pk in rows if user_pk not in user_pks]
    now = timezone.now()
    for chunk in batched(stale, CHUNK):
        ResourceLinkMember.objects.filter(pk__in=chunk).update(is_active=False, updated_at=now)
    return len(stale)
