"""Reads of the LTI app. The lookups on every login and launch are lean queries (``lms_tool.core.lean``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext_lazy as _

from lms_tool.core import lean

from . import registry_memo, roles
from .errors import LaunchError
from .models import Context, Deployment, LtiUser, Membership, Registration
from .types import LtiLaunch

# The active registrations and deployments are read through a per-process memo that any write to them
# invalidates everywhere (``registry_memo``). ``version``: the registry version the caller already read from
# the cache (the launch reads it with its login state); by default it is read here.
READ_VERSION: Any = object()


def registrations_for(*, issuer: str, client_id: str | None, version: Any = READ_VERSION) -> list[Registration]:
    def load() -> list[Registration]:
        if client_id:
            return lean.rows(Registration, {"issuer": issuer, "client_id": client_id, "is_active": True}, limit=2)
        return lean.rows(Registration, {"issuer": issuer, "is_active": True}, limit=2)

    return registry_memo.memo_get(("registrations", issuer, client_id), _version(version), load)


def registration_get(*, issuer: str, client_id: str, version: Any = READ_VERSION) -> Registration | None:
    return registry_memo.memo_get(
        ("registration", issuer, client_id),
        _version(version),
        lambda: lean.first(Registration, {"issuer": issuer, "client_id": client_id, "is_active": True}),
    )


def _version(version: Any) -> str | None:
    return registry_memo.version_read() if version is READ_VERSION else version


def registration_awaits_approval(*, issuer: str, client_id: str | None) -> bool:
    """An uninvited Dynamic Registration of this platform waits for a tool admin (asked only on a refusal)."""
    pending = Registration.objects.filter(issuer=issuer, pending_approval=True, is_active=False)
    return (pending.filter(client_id=client_id) if client_id else pending).exists()


def deployment_get(*, registration: Registration, deployment_id: str, version: Any = READ_VERSION) -> Deployment | None:
    return registry_memo.memo_get(
        ("deployment", registration.pk, deployment_id),
        _version(version),
        lambda: lean.first(Deployment, {"registration": registration.pk, "deployment_id": deployment_id}),
    )


def base_url(request: HttpRequest | None = None) -> str:
    from django.conf import settings

    if settings.TOOL_BASE_URL or request is None:
        return settings.TOOL_BASE_URL or "http://127.0.0.1:8000"
    return f"{request.scheme}://{request.get_host()}"


@functools.lru_cache(maxsize=16)
def _tool_paths(urlconf: str, script_prefix: str) -> tuple[str, str, str]:
    # Every login asks for these; reversing costs ~30 us each and the answer only depends on the key.
    return reverse("lti:login", urlconf), reverse("lti:launch", urlconf), reverse("lti:jwks", urlconf)


def tool_urls(request: HttpRequest | None = None) -> dict[str, str]:
    """The URLs an admin gives a platform when registering the tool."""
    from django.conf import settings

    base = base_url(request)
    login, launch, jwks = _tool_paths(str(get_urlconf() or settings.ROOT_URLCONF), get_script_prefix())
    return {"login": base + login, "launch": base + launch, "jwks": base + jwks}


# The membership rule: a roster read (NRPS 2.0 §2.3, member status) revokes only people it has listed,
# and keeps when (``Membership.revoked_at``). A signed launch issued after that, saying the person is an active member of the
# course, restores access; anything taken before the revocation stays refused.


def membership_by_claims(*, registration_id: int, context_id: str, sub: str) -> Membership | None:
    """The membership of the person ``sub`` in the course ``context_id`` of the registration, active or not.

    Read once per launch (``ValidatedLaunch.membership``): the roster's revocation check and the launch's
    record of a repeat launch share it (docs/benchmarks.md, Launch)."""
    found = lean.rows_from(
        Membership, "m", _membership_by_claims_tail(), [registration_id, context_id, registration_id, sub]
    )
    return found[0] if found else None


@functools.cache
def _membership_by_claims_tail() -> str:  # built once, when the models are ready
    m, x, u = (model._meta for model in (Membership, Context, LtiUser))
    return (
        f"FROM {m.db_table} m JOIN {x.db_table} x ON m.context_id = x.id "
        f"JOIN {u.db_table} u ON m.user_id = u.id "
        "WHERE x.registration_id = %s AND x.context_id = %s AND u.registration_id = %s AND u.sub = %s "
        "ORDER BY m.id LIMIT 1"
    )


def claims_say_active_member(claim_roles: list[str]) -> bool:
    """The launch names at least one role in the course, and not ``Inactive`` (LTI core §5.3.7)."""
    names = roles.short_names(claim_roles)
    return bool(names) and "Inactive" not in names


def membership_is_current(membership: Membership, *, issued_at: datetime) -> bool:
    """Access through a launch issued at ``issued_at``: the membership is active and the launch is newer than
    its last revocation."""
    if not membership.is_active:
        return False
    return membership.revoked_at is None or issued_at > membership.revoked_at


@dataclass(frozen=True)
class LaunchScope:
    """What a launch reaches: its registration, its course (None outside a course) and the membership in it."""

    registration_id: int
    context: Context | None
    membership: Membership | None

    @property
    def context_pk(self) -> int | None:
        return self.context.pk if self.context is not None else None


def _refused_member() -> LaunchError:
    return LaunchError(
        "membership_revoked",
        _("Your enrollment in this course is no longer active, so this activity is closed to you."),
        admin_hint=_(
            "The course roster (Names and Role Provisioning) dropped this person after this launch; "
            "a new launch from the course restores access if the platform lists them as an active member."
        ),
        status=403,
    )


def launch_scope(*, launch: LtiLaunch) -> LaunchScope:
    """Load the launch's registration, course and membership; refuse a launch that no longer reaches them.

    One query: the membership with its course, both under the launch's registration (or the registration
    alone for a launch outside a course)."""
    cached = launch._cache.get("scope")
    if isinstance(cached, LaunchScope):
        return cached
    if launch.context_pk is None:
        if not lean.exists(Registration, {"id": launch.registration_id, "is_active": True}):
            raise _registration_off()
        scope = LaunchScope(launch.registration_id, None, None)
    else:
        found = (
            lean.joined_from(
                _SCOPE_PARTS,
                ("r.is_active",),
                _scope_tail(),
                [
                    launch.membership_pk,
                    launch.context_pk,
                    launch.user_pk,
                    launch.registration_id,
                    launch.registration_id,
                ],
            )
            if launch.membership_pk is not None
            else []
        )
        if not found:
            raise _refused_member()
        membership, context, registration_active = found[0]
        membership.context = context
        if not registration_active:
            raise _registration_off()
        if not membership_is_current(membership, issued_at=launch.issued_at):
            raise _refused_member()
        scope = LaunchScope(launch.registration_id, membership.context, membership)
    launch._cache["scope"] = scope
    return scope


# Every page reads the membership with its course and the registration's switch (not the registration's row:
# keys, endpoints), in one statement built once (``lms_tool.core.lean``).
_SCOPE_PARTS: tuple[lean.Part, ...] = ((Membership, "m", frozenset()), (Context, "x", frozenset()))


@functools.cache
def _scope_tail() -> str:
    m, x, u, r = (model._meta for model in (Membership, Context, LtiUser, Registration))
    return (
        f"FROM {m.db_table} m JOIN {x.db_table} x ON m.context_id = x.id "
        f"JOIN {r.db_table} r ON x.registration_id = r.id JOIN {u.db_table} u ON m.user_id = u.id "
        "WHERE m.id = %s AND m.context_id = %s AND m.user_id = %s AND x.registration_id = %s "
        "AND u.registration_id = %s"
    )


def course_member(*, launch: LtiLaunch, sub: str) -> LtiUser | None:
    """The person ``sub`` of the launch's registration if they are (or were) a member of the launch's course, else
    None: a grader's Submission Review launch reaches only their own course's learners."""
    if launch.context_pk is None:
        return None
    return (
        LtiUser.objects.filter(
            registration_id=launch.registration_id,
            sub=sub,
            memberships__context_id=launch.context_pk,
            memberships__context__registration_id=launch.registration_id,
        )
        .distinct()
        .first()
    )


def _registration_off() -> LaunchError:
    return LaunchError(
        "registration_inactive",
        _("This tool has been turned off for your learning platform."),
        admin_hint=_("The platform's registration was deactivated after this launch; reactivate it in the admin."),
        status=403,
    )
