"""Writes of the API: API clients, and enrollments through the roster's own code path."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lms_tool.core.models import DomainEvent
from lms_tool.core.services import audit_record
from lms_tool.lti import claims as c
from lms_tool.lti.models import Context, LtiUser, Membership
from lms_tool.roster import bulk
from lms_tool.roster.nrps import Member
from lms_tool.webhooks.models import Subscription

from . import auth
from .models import ApiClient, IdempotencyRecord
from .scopes import unknown_scopes


@transaction.atomic
def api_client_issue(*, client: ApiClient, actor: str) -> str:
    """Give an unsaved client its credentials and save it; returns the token ``<client_id>.<secret>``,
    shown once: only the secret's hash is kept."""
    bad = unknown_scopes(client.scopes)
    if bad:
        raise ValueError(f"unknown scopes: {', '.join(bad)}")
    client_id, secret = auth.new_credentials()
    client.client_id, client.secret_hash = client_id, auth.secret_hash(client_id, secret)
    client.scopes, client.created_by = sorted(set(client.scopes)), actor
    client.save()
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="api_client.created",
        object_type="api_client",
        object_id=client.client_id,
        after={"scopes": client.scopes, "all_contexts": client.all_contexts},
    )
    return f"{client_id}.{secret}"


@transaction.atomic
def api_client_create(
    *,
    name: str,
    scopes: list[str],
    created_by: str,
    all_contexts: bool = False,
    registration_pks: list[int] | None = None,
    context_pks: list[int] | None = None,
    rate_limit_per_minute: int | None = None,
) -> tuple[ApiClient, str]:
    """A new client with its reach; returns it and its token (see ``api_client_issue``)."""
    client = ApiClient(name=name, scopes=scopes, all_contexts=all_contexts, rate_limit_per_minute=rate_limit_per_minute)
    token = api_client_issue(client=client, actor=created_by)
    client.registrations.set(registration_pks or [])
    client.contexts.set(context_pks or [])
    return client, token


@transaction.atomic
def api_client_rotate_secret(*, client: ApiClient, actor: str) -> str:
    """A new secret; the old one stops working at once."""
    _, secret = auth.new_credentials()
    ApiClient.objects.filter(pk=client.pk).update(secret_hash=auth.secret_hash(client.client_id, secret))
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="api_client.secret_rotated",
        object_type="api_client",
        object_id=client.client_id,
    )
    return f"{client.client_id}.{secret}"


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor: str) -> None:
    """Refuse the client's requests from now on, and stop its webhook subscriptions: a revoked (say, leaked)
    client must not keep receiving signed events either."""
    ApiClient.objects.filter(pk=client.pk).update(is_active=False, revoked_at=timezone.now())
    Subscription.objects.filter(api_client=client).update(is_active=False, updated_at=timezone.now())
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="api_client.revoked",
        object_type="api_client",
        object_id=client.client_id,
    )


def _member_state(context: Context, sub: str) -> dict[str, bulk.Row]:
    row = Membership.objects.filter(context=context, user__sub=sub).values_list(
        "pk", "user_id", "roles", "is_active", "roster_listed_at", "revoked_at"
    )
    found = row.first()
    if found is None:
        return {}
    pk, user_pk, roles, active, listed, revoked = found
    # All of the row, as the roster loads it: without the listing time every call would look like a first listing.
    return {sub: bulk.Row(pk, user_pk, list(roles or []), active, listed, revoked)}


def _apply(*, context: Context, member: Member, client: ApiClient, reason: str) -> Membership:
    # The roster's own path: the same upserts and the same enrollment.* domain events as an NRPS sync.
    last_event = DomainEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    state = _member_state(context, member.user_id)
    bulk.page_apply(context=context, link=None, page=[member], state=state, seen=set(), counts=Counter())
    membership = Membership.objects.select_related("context", "user").get(context=context, user__sub=member.user_id)
    # The roster words its events for a platform's list; say where this change came from instead.
    for event in DomainEvent.objects.filter(
        pk__gt=last_event, subject_type="membership", subject_id=str(membership.pk)
    ):
        event.data = {**event.data, "reason": reason, "source": "api", "api_client": client.client_id}
        event.save(update_fields=["data"])
    return membership


def _snapshot(membership: Membership | None) -> dict | None:
    if membership is None:
        return None
    return {"roles": membership.roles, "is_active": membership.is_active}


@transaction.atomic
def enrollment_provision(
    *,
    client: ApiClient,
    context: Context,
    sub: str,
    roles: list[str],
    name: str = "",
    email: str = "",
    sis_id: str = "",
) -> tuple[Membership, bool]:
    """Enrol (or re-activate) a person before their first launch; True when something changed."""
    before = Membership.objects.filter(context=context, user__sub=sub).first()
    uris = [c.ROLE_CONTEXT + role for role in roles]
    member = Member(user_id=sub, roles=tuple(uris), status="Active", name=name, email=email)
    membership = _apply(context=context, member=member, client=client, reason="provisioned through the API")
    if sis_id and membership.user.sis_id != sis_id:
        LtiUser.objects.filter(pk=membership.user_id).update(sis_id=sis_id, updated_at=timezone.now())
    changed = _snapshot(before) != _snapshot(membership)
    if changed or before is None:
        audit_record(
            actor_type="api_client",
            actor_id=client.client_id,
            action="enrollment.provisioned",
            object_type="membership",
            object_id=membership.pk,
            source="api",
            before=_snapshot(before),
            after=_snapshot(membership),
        )
    return membership, before is None


@transaction.atomic
def enrollment_drop(*, client: ApiClient, membership: Membership) -> Membership:
    """Revoke access exactly as an NRPS removal does: inactive, ``enrollment.removed`` recorded; history kept."""
    membership = Membership.objects.select_related("context__registration", "user").get(pk=membership.pk)
    if not membership.is_active:
        return membership
    user: LtiUser = membership.user
    member = Member(user_id=user.sub, roles=tuple(membership.roles), status="Deleted")
    dropped = _apply(context=membership.context, member=member, client=client, reason="dropped through the API")
    audit_record(
        actor_type="api_client",
        actor_id=client.client_id,
        action="enrollment.dropped",
        object_type="membership",
        object_id=membership.pk,
        source="api",
        before=_snapshot(membership),
        after=_snapshot(dropped),
    )
    return dropped


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Forget stored answers older than API_IDEMPOTENCY_TTL_SECONDS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.API["IDEMPOTENCY_TTL_SECONDS"])
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
