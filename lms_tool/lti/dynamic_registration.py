"""LTI Dynamic Registration 1.0 (1EdTech): a platform admin pastes one URL, the tool registers itself.

1. The platform opens ``/lti/register/?openid_configuration=...&registration_token=...`` (DR §3.3),
   or ``/lti/register/<invitation>/?...`` when a tool admin issued an invitation (the invitation is a
   path segment, so platforms that append their query parameters to the pasted URL keep it).
2. ``registration_prepare`` checks the invitation, if any, then reads and checks the platform's
   OpenID configuration (``platform_config``) and keeps it, with the token, under a random id for
   the admin's confirmation; that id travels in the confirmation form (the page sits in a cross-site iframe
   where cookies, and so Django's CSRF cookie, may be blocked: the unguessable id is the form's
   anti-forgery token, and it is single-use).
3. ``registration_finish`` posts the tool's client registration (DR §3.5.2) with the token as
   Bearer, and stores what the platform answered: the registration, the deployment when the
   answer has one (Moodle does, Canvas does not), and the scopes it granted. Either all of that
   is written or none of it.

Who may do what (docs/canvas.md, docs/moodle.md): the page needs no login, so Dynamic Registration
only ever *creates* a registration; an (issuer, client_id) the tool already has is refused and left
as it is (``registry.registration_create``). With a valid invitation the new registration is active
at once and the invitation is used up in the same transaction; without one it waits, inactive, for
a tool admin's approval (``pending_approval``), unless ``LTI_DYNAMIC_REGISTRATION_OPEN`` is set
(development). The audit line names the invitation or "unauthenticated", the configuration URL and
where the request came from.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from lms_tool.core import http
from lms_tool.core.errors import lazy_format
from lms_tool.core.models import AuditEvent
from lms_tool.core.services import audit_record

from . import registry, tool_config
from .models import Family, Registration, RegistrationInvitation
from .platform_config import PlatformConfig, RegistrationError, config_fetch, unreachable_hint

logger = logging.getLogger(__name__)
PENDING_PREFIX = "lti:dynreg:"
PENDING_TTL_SECONDS = 30 * 60
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
# AuditEvent.actor_type of a registration made with an invitation; actor_id is the invitation's id.
ACTOR_INVITATION = AuditEvent.Actor.INVITATION.value


@dataclass
class Pending:
    id: str
    config: PlatformConfig
    token: str
    body: dict[str, Any]
    invitation: RegistrationInvitation | None = None

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
    invitation: RegistrationInvitation | None = None

    @property
    def pending_approval(self) -> bool:
        return self.registration.pending_approval

    @property
    def trimmed(self) -> list[str]:
        return [] if self.granted is None else [s for s in self.requested if s not in self.granted]


def _body(config: PlatformConfig, tool: tool_config.ToolUrls) -> dict[str, Any]:
    return tool_config.client_registration(
        tool, family=config.family, scopes=config.requested_scopes(), supported=config.messages_supported
    )


def invitation_url(*, base: str, token: str) -> str:
    """The registration URL a tool admin gives a platform admin, with the invitation in its path."""
    return base + reverse("lti:register_invited", kwargs={"invitation": token})


_INVITATION_REFUSED = {
    RegistrationInvitation.Status.USED: (
        "invitation_used",
        _("This registration link was already used."),
        _("Each invitation registers one platform once. Ask the tool's administrator for a new link."),
    ),
    RegistrationInvitation.Status.REVOKED: (
        "invitation_revoked",
        _("This registration link was withdrawn by the tool's administrator."),
        _("Ask the tool's administrator for a new link."),
    ),
    RegistrationInvitation.Status.EXPIRED: (
        "invitation_expired",
        _("This registration link has expired."),
        _("Invitations last a few days (7 unless the tool's administrator chose otherwise). Ask for a new link."),
    ),
}


def _usable(invitation: RegistrationInvitation | None) -> RegistrationInvitation:
    if invitation is None:
        raise RegistrationError(
            "invitation_unknown",
            _("This registration link is not valid."),
            admin_hint=_(
                "The invitation in the link is unknown (mistyped or cut short?). Paste the whole link the "
                "tool's administrator sent, or ask them for a new one."
            ),
            status=404,
        )
    status = invitation.status()
    if status != RegistrationInvitation.Status.OPEN:
        code, message, hint = _INVITATION_REFUSED[RegistrationInvitation.Status(status)]
        raise RegistrationError(code, message, admin_hint=hint, detail=f"invitation {invitation.pk}", status=410)
    return invitation


def invitation_check(token: str) -> RegistrationInvitation:
    """The open invitation this token names, or a page that says why it cannot be used."""
    found = None
    if token and len(token) <= 100:
        found = RegistrationInvitation.objects.filter(token_hash=registry.invitation_hash(token)).first()
    return _usable(found)


def registration_prepare(*, url: str, token: str, tool: tool_config.ToolUrls, invitation: str | None = None) -> Pending:
    """Check the invitation (if any) and fetch the platform's configuration; keep both for the confirmation."""
    invited = invitation_check(invitation) if invitation is not None else None
    config = config_fetch(url=url, token=token)
    pending = Pending(
        id=secrets.token_urlsafe(24), config=config, token=token, body=_body(config, tool), invitation=invited
    )
    cache.set(
        PENDING_PREFIX + pending.id,
        {"config": config.to_cache(), "token": token, "invitation": invited.pk if invited else None},
        PENDING_TTL_SECONDS,
    )
    return pending


def _pending_take(pending_id: str, tool: tool_config.ToolUrls) -> Pending:
    key = PENDING_PREFIX + pending_id
    stored = cache.get(key) if pending_id and len(pending_id) < 100 else None
    # delete() reports whether the key was there: a double submit registers once.
    if stored is None or not cache.delete(key):
        raise RegistrationError(
            "registration_expired",
            _("This registration page has expired or was already submitted."),
            admin_hint=_(
                "Start the registration again from your platform (registration pages last 30 minutes "
                "and can be submitted once)."
            ),
            status=410,
        )
    config = PlatformConfig.from_cache(stored["config"])
    invitation = None
    if stored.get("invitation") is not None:
        # Checked again before the platform is asked: it may have been used or revoked meanwhile.
        invitation = _usable(RegistrationInvitation.objects.filter(pk=stored["invitation"]).first())
    return Pending(id=pending_id, config=config, token=stored["token"], body=_body(config, tool), invitation=invitation)


def _send(pending: Pending) -> dict[str, Any]:
    """POST the client registration (DR §3.5.2); the platform's answer carries our client_id."""
    config = pending.config
    headers = {"Accept": "application/json"}
    if pending.token:
        headers["Authorization"] = f"Bearer {pending.token}"
    try:
        response = http.post(config.registration_endpoint, untrusted=True, json=pending.body, headers=headers)
    except requests.RequestException as exc:
        # A refused private address answers as any unreachable one (see platform_config.config_fetch).
        http.failure_log("dynamic registration: POST registration", config.registration_endpoint, exc)
        raise RegistrationError(
            "registration_unreachable",
            _("The tool could not reach your platform to register."),
            admin_hint=unreachable_hint(config.registration_endpoint),
            status=502,
        ) from exc
    if response.status_code in (401, 403):
        raise RegistrationError(
            "registration_token_refused",
            _("Your platform refused the registration token: it was already used or has expired."),
            admin_hint=lazy_format(
                _(
                    "%(url)s answered HTTP %(status)s (%(answer)s). Registration tokens are single-use (Moodle) and "
                    "short-lived: start the registration again from the platform."
                ),
                url=config.registration_endpoint,
                status=response.status_code,
                answer=repr(response.text[:200]),
            ),
            status=502,
        )
    if response.status_code not in (200, 201):
        raise RegistrationError(
            "registration_refused",
            _("Your platform refused the tool's registration."),
            admin_hint=lazy_format(
                _("%(url)s answered HTTP %(status)s: %(answer)s"),
                url=config.registration_endpoint,
                status=response.status_code,
                answer=repr(response.text[:500]),
            ),
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
            _("Your platform's answer to the registration could not be understood."),
            admin_hint=lazy_format(
                _("%(url)s answered without a client_id: %(answer)s"),
                url=config.registration_endpoint,
                answer=repr(response.text[:300]),
            ),
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
def _store(pending: Pending, answer: dict[str, Any], origin: dict[str, str]) -> Outcome:
    config = pending.config
    deployment_id = _deployment_id(answer)
    granted = _granted(answer)
    client_id = str(answer["client_id"])
    family_label = dict(Family.choices).get(config.family, "Platform")
    invitation = None
    if pending.invitation is not None:
        # Locked and checked once more: of two registrations racing with one invitation, one wins.
        invitation = _usable(
            RegistrationInvitation.objects.select_for_update().filter(pk=pending.invitation.pk).first()
        )
    active = invitation is not None or settings.LTI_DYNAMIC_REGISTRATION_OPEN
    try:
        registration = registry.registration_create(
            issuer=config.issuer,
            client_id=client_id,
            auth_login_url=config.authorization_endpoint,
            auth_token_url=config.token_endpoint,
            key_set_url=config.jwks_uri,
            family=config.family,
            name=f"{family_label}: {config.display_name}"[:200],
            deployment_ids=[deployment_id] if deployment_id else [],
            scopes=granted or [],
            active=active,
        )
    except registry.RegistrationExists as exc:
        raise RegistrationError(
            "registration_exists",
            _(
                "The tool already has a registration for this platform and client ID. Registering again cannot "
                "change it: ask the tool's administrator to update or remove it."
            ),
            admin_hint=lazy_format(
                _(
                    "%(problem)s Dynamic Registration only creates new registrations. The tool's administrator can "
                    "change this one in the Django admin (LTI > Registrations) or with `manage.py lti_platform add`. "
                    "Your platform may now list the tool a second time: remove that entry there."
                ),
                problem=str(exc),
            ),
            status=409,
        ) from exc
    except registry.RegistrationInvalid as exc:
        raise RegistrationError(
            "registration_invalid",
            _("The platform's registration details could not be stored."),
            admin_hint=lazy_format(
                _("%(problem)s The platform may already list the tool: remove that entry there before trying again."),
                problem=str(exc),
            ),
            status=502,
        ) from exc
    if invitation is not None:
        registry.invitation_use(invitation=invitation, registration=registration)
    audit_record(
        **_actor(invitation),
        action="registration.dynamic",
        object_type="registration",
        object_id=registration.pk,
        source=config.url,
        **origin,
        after={
            "issuer": config.issuer,
            "client_id": client_id,
            "active": registration.is_active,
            "pending_approval": registration.pending_approval,
            "requested_scopes": pending.scopes,
            "granted_scopes": granted,
            "deployment_id": deployment_id,
            "platform": config.product_family_code,
            "version": config.version,
        },
    )
    return Outcome(registration, True, config, deployment_id, pending.scopes, granted, invitation)


def _actor(invitation: RegistrationInvitation | None) -> dict[str, str]:
    if invitation is None:
        return {"actor_type": AuditEvent.Actor.UNAUTHENTICATED, "actor_id": ""}
    return {"actor_type": ACTOR_INVITATION, "actor_id": str(invitation.pk)}


def registration_finish(*, pending_id: str, tool: tool_config.ToolUrls, origin: dict[str, str]) -> Outcome:
    """Send the client registration and store the answer, all or nothing.

    ``origin`` is ``core.services.request_origin(request)``: where the confirmation came from, for the audit."""
    pending = _pending_take(pending_id, tool)
    answer = _send(pending)
    try:
        outcome = _store(pending, answer, origin)
    except RegistrationError as error:
        # Nothing was stored (the transaction rolled back); the attempt itself is worth a line.
        audit_record(
            **_actor(pending.invitation),
            action="registration.dynamic_refused",
            object_type="registration",
            object_id="",
            source=pending.config.url,
            **origin,
            after={"issuer": pending.config.issuer, "client_id": str(answer["client_id"])[:300], "code": error.code},
        )
        raise
    logger.info(
        "dynamic registration of %s (client_id %s, deployment %r, granted %s, %s)",
        outcome.registration,
        outcome.registration.client_id,
        outcome.deployment_id,
        outcome.granted,
        "active" if outcome.registration.is_active else "pending approval",
    )
    return outcome
