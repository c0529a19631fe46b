"""Writes to platform registrations, deployments and registration invitations.

Two ways in, with different rights: a tool admin (Django admin, ``manage.py lti_platform``) may
create or change any registration (``registration_upsert``); LTI Dynamic Registration, which anyone
can open, may only create a new one (``registration_create``), never change an existing one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from lms_tool.core import crypto
from lms_tool.core.services import audit_record

from .models import Deployment, DeploymentPolicy, Family, Registration, RegistrationInvitation

INVITATION_DAYS = 7
INVITATION_MAX_DAYS = 90


class RegistrationInvalid(ValueError):
    pass


class RegistrationExists(RegistrationInvalid):
    """Dynamic Registration named an (issuer, client_id) the tool already has."""


_url = URLValidator(schemes=["http", "https"])


def _snapshot(registration: Registration) -> dict[str, object]:
    return {
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "auth_login_url": registration.auth_login_url,
        "auth_token_url": registration.auth_token_url,
        "key_set_url": registration.key_set_url,
        "family": registration.family,
        "deployment_policy": registration.deployment_policy,
        "is_active": registration.is_active,
        "pending_approval": registration.pending_approval,
        "deployments": sorted(registration.deployments.values_list("deployment_id", flat=True)),
    }


_LABELS = {
    "auth_login_url": "login URL",
    "auth_token_url": "token URL",
    "key_set_url": "JWKS URL",
    "auth_audience": "token audience",
}


def _check_lengths(*, deployment_ids: list[str], **values: str) -> None:
    # Refused here with a message, rather than by the database (PostgreSQL) with a DataError.
    for field, value in values.items():
        limit = getattr(Registration._meta.get_field(field), "max_length", None)
        if limit is not None and len(value) > limit:
            raise RegistrationInvalid(f"The {_LABELS.get(field, field)} is longer than {limit} characters.")
    limit = getattr(Deployment._meta.get_field("deployment_id"), "max_length", None) or 255
    for deployment_id in deployment_ids:
        if not deployment_id.strip() or len(deployment_id) > limit:
            raise RegistrationInvalid(f"The deployment id {deployment_id[:40]!r} must have 1 to {limit} characters.")


def _validate(
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    auth_audience: str,
    family: str | None,
    name: str,
    deployment_ids: list[str],
) -> None:
    for label, value in (
        ("issuer", issuer),
        ("login URL", auth_login_url),
        ("token URL", auth_token_url),
        ("JWKS URL", key_set_url),
    ):
        try:
            _url(value)
        except ValidationError as exc:
            raise RegistrationInvalid(f"The {label} {value!r} is not an http(s) URL.") from exc
    if not client_id.strip():
        raise RegistrationInvalid("The client_id is empty.")
    _check_lengths(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        auth_audience=auth_audience,
        name=name,
        deployment_ids=deployment_ids,
    )
    if family is not None and family not in Family.values:
        raise RegistrationInvalid(f"Unknown family {family!r}; use one of {Family.values}.")


def _registration_write(
    registration: Registration, *, family: str | None, name: str, deployment_policy: str | None, **urls: str
) -> Registration:
    """Set an admin's values (blank family, name or policy keep what is there) and save."""
    for field, value in urls.items():
        setattr(registration, field, value)
    registration.family = family or registration.family
    registration.name = name or registration.name
    registration.deployment_policy = deployment_policy or registration.deployment_policy
    # An admin's add or update is the approval a pending registration waits for.
    registration.is_active = True
    registration.pending_approval = False
    registration.save()
    return registration


@transaction.atomic
def registration_upsert(
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    auth_audience: str = "",
    family: str | None = None,
    name: str = "",
    deployment_policy: str | None = None,
    deployment_ids: list[str] | None = None,
    actor: str = "system",
) -> tuple[Registration, bool]:
    """Create or update the registration for (issuer, client_id); add the listed deployments."""
    _validate(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        auth_audience=auth_audience,
        family=family,
        name=name,
        deployment_ids=deployment_ids or [],
    )
    if deployment_policy is not None and deployment_policy not in DeploymentPolicy.values:
        raise RegistrationInvalid(f"Unknown deployment policy {deployment_policy!r}.")
    registration = Registration.objects.select_for_update().filter(issuer=issuer, client_id=client_id).first()
    created = registration is None
    before = None if registration is None else _snapshot(registration)
    registration = _registration_write(
        registration or Registration(issuer=issuer, client_id=client_id),
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        auth_audience=auth_audience,
        family=family,
        name=name,
        deployment_policy=deployment_policy,
    )
    for deployment_id in deployment_ids or []:
        Deployment.objects.update_or_create(
            registration=registration, deployment_id=deployment_id, defaults={"is_active": True}
        )
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="registration.create" if created else "registration.update",
        object_type="registration",
        object_id=registration.pk,
        before=before,
        after=_snapshot(registration),
    )
    return registration, created


@transaction.atomic
def registration_remove(*, issuer: str, client_id: str, actor: str = "system") -> bool:
    registration = Registration.objects.filter(issuer=issuer, client_id=client_id).first()
    if registration is None:
        return False
    before = _snapshot(registration)
    pk = registration.pk
    registration.delete()
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="registration.remove",
        object_type="registration",
        object_id=pk,
        before=before,
    )
    return True


@transaction.atomic
def registration_create(
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    family: str,
    name: str,
    deployment_ids: list[str],
    scopes: list[str],
    active: bool,
) -> Registration:
    """Create a registration that does not exist yet; never touch one that does (Dynamic Registration).

    An existing (issuer, client_id) raises ``RegistrationExists``: whoever opened the registration page
    proved nothing about owning it, so its keys and endpoints stay as a tool admin set them. The caller
    writes the audit line (it knows who asked and from where)."""
    _validate(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        auth_audience="",
        family=family,
        name=name,
        deployment_ids=deployment_ids,
    )
    exists = RegistrationExists(
        f"The tool already has a registration for issuer {issuer!r} and client_id {client_id!r}."
    )
    if Registration.objects.filter(issuer=issuer, client_id=client_id).exists():
        raise exists
    try:
        # The unique constraint settles a race between two registrations of the same client.
        with transaction.atomic():
            registration = Registration.objects.create(
                issuer=issuer,
                client_id=client_id,
                auth_login_url=auth_login_url,
                auth_token_url=auth_token_url,
                key_set_url=key_set_url,
                family=family,
                name=name,
                scopes=scopes,
                is_active=active,
                pending_approval=not active,
            )
    except IntegrityError as exc:
        raise exists from exc
    for deployment_id in deployment_ids:
        Deployment.objects.create(registration=registration, deployment_id=deployment_id)
    return registration


@transaction.atomic
def registration_approve(*, registration_id: int, actor: str, address: str = "", user_agent: str = "") -> bool:
    """A tool admin approves a registration that waits (an uninvited Dynamic Registration): it launches from now on."""
    registration = Registration.objects.select_for_update().filter(pk=registration_id).first()
    if registration is None or not registration.pending_approval:
        return False
    before = _snapshot(registration)
    registration.is_active = True
    registration.pending_approval = False
    registration.save(update_fields=["is_active", "pending_approval", "updated_at"])
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="registration.approve",
        object_type="registration",
        object_id=registration.pk,
        address=address,
        user_agent=user_agent,
        before=before,
        after=_snapshot(registration),
    )
    return True


def invitation_hash(token: str) -> str:
    """The keyed hash stored for an invitation token: a leaked database does not give usable links."""
    return hmac.new(crypto.secret_key_for("registration-invitation"), token.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def invitation_create(
    *, label: str, created_by: str, days: int = INVITATION_DAYS, address: str = "", user_agent: str = ""
) -> tuple[RegistrationInvitation, str]:
    """A single-use invitation for one Dynamic Registration; the token is returned once and never stored."""
    if not 1 <= days <= INVITATION_MAX_DAYS:
        raise RegistrationInvalid(f"An invitation lasts 1 to {INVITATION_MAX_DAYS} days, not {days}.")
    label = label.strip()
    if len(label) > 200:
        raise RegistrationInvalid("The label is longer than 200 characters.")
    token = secrets.token_urlsafe(32)
    invitation = RegistrationInvitation.objects.create(
        token_hash=invitation_hash(token),
        label=label,
        created_by=created_by[:255],
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        actor_type="admin",
        actor_id=created_by,
        action="invitation.create",
        object_type="registration_invitation",
        object_id=invitation.pk,
        address=address,
        user_agent=user_agent,
        after={"label": label, "expires_at": invitation.expires_at.isoformat()},
    )
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation_id: int, actor: str, address: str = "", user_agent: str = "") -> bool:
    """Revoke an invitation not used yet; False when there is nothing to revoke (used, revoked or unknown)."""
    invitation = RegistrationInvitation.objects.select_for_update().filter(pk=invitation_id).first()
    if invitation is None or invitation.used_at is not None or invitation.revoked_at is not None:
        return False
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="invitation.revoke",
        object_type="registration_invitation",
        object_id=invitation.pk,
        address=address,
        user_agent=user_agent,
        after={"label": invitation.label},
    )
    return True


def invitation_use(*, invitation: RegistrationInvitation, registration: Registration) -> None:
    """Mark the invitation used by this registration; call inside the transaction that created it."""
    invitation.used_at = timezone.now()
    invitation.registration = registration
    invitation.save(update_fields=["used_at", "registration"])
