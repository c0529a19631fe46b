"""Writes to platform registrations and deployments (admin commands, dynamic registration)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from lms_tool.core.services import audit_record

from .models import Deployment, DeploymentPolicy, Family, Registration


class RegistrationInvalid(ValueError):
    pass


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
        deployment_ids=deployment_ids or [],
    )
    if family is not None and family not in Family.values:
        raise RegistrationInvalid(f"Unknown family {family!r}; use one of {Family.values}.")
    if deployment_policy is not None and deployment_policy not in DeploymentPolicy.values:
        raise RegistrationInvalid(f"Unknown deployment policy {deployment_policy!r}.")
    registration = Registration.objects.select_for_update().filter(issuer=issuer, client_id=client_id).first()
    created = registration is None
    before = None if registration is None else _snapshot(registration)
    if registration is None:
        registration = Registration(issuer=issuer, client_id=client_id)
    registration.auth_login_url = auth_login_url
    registration.auth_token_url = auth_token_url
    registration.key_set_url = key_set_url
    registration.auth_audience = auth_audience
    if family:
        registration.family = family
    if name:
        registration.name = name
    if deployment_policy:
        registration.deployment_policy = deployment_policy
    registration.is_active = True
    registration.save()
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
