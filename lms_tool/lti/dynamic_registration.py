"""LTI Dynamic Registration 1.0 (1EdTech): a platform admin pastes one URL, the tool registers itself.

1. The platform opens ``/lti/register/?openid_configuration=...&registration_token=...`` (DR §3.3).
2. ``registration_prepare`` reads and checks the platform's OpenID configuration
   (``platform_config``) and keeps it, with the token, under a random id for the admin's
   confirmation; that id travels in the confirmation form (the page sits in a cross-site iframe
   where cookies, and so Django's CSRF cookie, may be blocked: the unguessable id is the form's
   anti-forgery token, and it is single-use).
3. ``registration_finish`` posts the tool's client registration (DR §3.5.2) with the token as
   Bearer, and stores what the platform answered: the registration, the deployment when the
   answer has one (Moodle does, Canvas does not), and the scopes it granted. Either all of that
   is written or none of it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from django.core.cache import cache
from django.db import transaction

from lms_tool.core import http
from lms_tool.core.services import audit_record

from . import registry, tool_config
from .models import Family, Registration
from .platform_config import PlatformConfig, RegistrationError, config_fetch

logger = logging.getLogger(__name__)
PENDING_PREFIX = "lti:dynreg:"
PENDING_TTL_SECONDS = 30 * 60
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@dataclass
class Pending:
    id: str
    config: PlatformConfig
    token: str
    body: dict[str, Any]

    @property
    def scopes(self) -> list[str]:
        return str(self.body["scope"]).split()


@dataclass
class Outcome:
    registration: Registration
    created: bool
    config: PlatformConfig
    deployment_id: str
    requested: list[str]
    # None when the platform's answer did not say: the scopes are then learned from launches.
    granted: list[str] | None

    @property
    def trimmed(self) -> list[str]:
        return [] if self.granted is None else [s for s in self.requested if s not in self.granted]


def _body(config: PlatformConfig, tool: tool_config.ToolUrls) -> dict[str, Any]:
    return tool_config.client_registration(
        tool, family=config.family, scopes=config.requested_scopes(), supported=config.messages_supported
    )


def registration_prepare(*, url: str, token: str, tool: tool_config.ToolUrls) -> Pending:
    """Fetch and check the platform's configuration; keep it for the admin's confirmation."""
    config = config_fetch(url=url, token=token)
    pending = Pending(id=secrets.token_urlsafe(24), config=config, token=token, body=_body(config, tool))
    cache.set(PENDING_PREFIX + pending.id, {"config": config.to_cache(), "token": token}, PENDING_TTL_SECONDS)
    return pending


def _pending_take(pending_id: str, tool: tool_config.ToolUrls) -> Pending:
    key = PENDING_PREFIX + pending_id
    stored = cache.get(key) if pending_id and len(pending_id) < 100 else None
    # delete() reports whether the key was there: a double submit registers once.
    if stored is None or not cache.delete(key):
        raise RegistrationError(
            "registration_expired",
            "This registration page has expired or was already submitted.",
            admin_hint="Start the registration again from your platform (registration pages last 30 minutes "
            "and can be submitted once).",
            status=410,
        )
    config = PlatformConfig.from_cache(stored["config"])
    return Pending(id=pending_id, config=config, token=stored["token"], body=_body(config, tool))


def _send(pending: Pending) -> dict[str, Any]:
    """POST the client registration (DR §3.5.2); the platform's answer carries our client_id."""
    config = pending.config
    headers = {"Accept": "application/json"}
    if pending.token:
        headers["Authorization"] = f"Bearer {pending.token}"
    try:
        response = http.post(config.registration_endpoint, untrusted=True, json=pending.body, headers=headers)
    except http.BlockedAddressError as exc:
        raise RegistrationError(
            "registration_url_blocked",
            "The platform's registration address points to a private network.",
            admin_hint=f"{config.registration_endpoint!r} resolves to a private, loopback or link-local address, "
            "which the tool refuses to call (list the host in HTTP_ALLOWED_PRIVATE_HOSTS if this is intended).",
            detail=str(exc),
        ) from exc
    except requests.RequestException as exc:
        raise RegistrationError(
            "registration_unreachable",
            "The tool could not reach your platform to register.",
            admin_hint=f"POST {config.registration_endpoint} failed: {exc.__class__.__name__}.",
            detail=str(exc),
            status=502,
        ) from exc
    if response.status_code in (401, 403):
        raise RegistrationError(
            "registration_token_refused",
            "Your platform refused the registration token: it was already used or has expired.",
            admin_hint=f"{config.registration_endpoint} answered HTTP {response.status_code} "
            f"({response.text[:200]!r}). Registration tokens are single-use (Moodle) and short-lived: start the "
            "registration again from the platform.",
            status=502,
        )
    if response.status_code not in (200, 201):
        raise RegistrationError(
            "registration_refused",
            "Your platform refused the tool's registration.",
            admin_hint=f"{config.registration_endpoint} answered HTTP {response.status_code}: {response.text[:500]!r}",
            status=502,
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if (
        not isinstance(answer, dict)
        or not isinstance(answer.get("client_id"), str | int)
        or not str(answer.get("client_id")).strip()
    ):
        raise RegistrationError(
            "registration_bad_answer",
            "Your platform's answer to the registration could not be understood.",
            admin_hint=f"{config.registration_endpoint} answered without a client_id: {response.text[:300]!r}",
            status=502,
        )
    return answer


def _granted(answer: dict[str, Any]) -> list[str] | None:
    scope = answer.get("scope")
    return sorted(set(scope.split())) if isinstance(scope, str) else None


def _deployment_id(answer: dict[str, Any]) -> str:
    tool_configuration = answer.get(TOOL_CONFIGURATION)
    value = tool_configuration.get("deployment_id") if isinstance(tool_configuration, dict) else None
    return str(value) if isinstance(value, str | int) and str(value) else ""


@transaction.atomic
def _store(pending: Pending, answer: dict[str, Any], actor: str) -> Outcome:
    config = pending.config
    deployment_id = _deployment_id(answer)
    granted = _granted(answer)
    family_label = dict(Family.choices).get(config.family, "Platform")
    try:
        registration, created = registry.registration_upsert(
            issuer=config.issuer,
            client_id=str(answer["client_id"]),
            auth_login_url=config.authorization_endpoint,
            auth_token_url=config.token_endpoint,
            key_set_url=config.jwks_uri,
            family=config.family,
            name=f"{family_label}: {config.display_name}"[:200],
            deployment_ids=[deployment_id] if deployment_id else None,
            actor=actor,
        )
    except registry.RegistrationInvalid as exc:
        raise RegistrationError(
            "registration_invalid",
            "The platform's registration details could not be stored.",
            admin_hint=f"{exc} The platform may already list the tool: remove that entry there before trying again.",
            status=502,
        ) from exc
    registration.scopes = granted or []
    registration.save(update_fields=["scopes", "updated_at"])
    audit_record(
        actor_type="admin",
        actor_id=actor,
        action="registration.dynamic",
        object_type="registration",
        object_id=registration.pk,
        source=config.url,
        after={
            "requested_scopes": pending.scopes,
            "granted_scopes": granted,
            "deployment_id": deployment_id,
            "platform": config.product_family_code,
            "version": config.version,
        },
    )
    return Outcome(registration, created, config, deployment_id, pending.scopes, granted)


def registration_finish(*, pending_id: str, tool: tool_config.ToolUrls, actor: str = "dynamic-registration") -> Outcome:
    """Send the client registration and store the answer, all or nothing."""
    pending = _pending_take(pending_id, tool)
    answer = _send(pending)
    outcome = _store(pending, answer, actor)
    logger.info(
        "dynamic registration of %s (client_id %s, deployment %r, granted %s)",
        outcome.registration,
        outcome.registration.client_id,
        outcome.deployment_id,
        outcome.granted,
    )
    return outcome
