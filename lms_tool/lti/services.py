"""Writes that follow a validated launch: upsert what the claims describe, keep the launch."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from . import claims as c
from .launch import ValidatedLaunch
from .models import Context, Deployment, Family, LtiUser, Membership, Registration, ResourceLink
from .types import LtiLaunch

logger = logging.getLogger(__name__)
LAUNCH_PREFIX = "lti:launch:"


def _family(claims: dict) -> str | None:
    code = str((claims.get(c.TOOL_PLATFORM) or {}).get("product_family_code", "")).lower()
    if code == "canvas":
        return Family.CANVAS
    if code == "moodle":
        return Family.MOODLE
    return None


def _sis_id(claims: dict) -> dict[str, str]:
    # LTI core §5.3.5 (LIS claim): the SIS's id of the person, kept (encrypted) when the platform sends it.
    lis = claims.get("https://purl.imsglobal.org/spec/lti/claim/lis")
    sourcedid = str(lis.get("person_sourcedid") or "")[:255] if isinstance(lis, dict) else ""
    return {"sis_id": sourcedid} if sourcedid else {}


@transaction.atomic
def launch_record(*, launch: ValidatedLaunch) -> LtiLaunch:
    """Upsert deployment, context, resource link, user and membership; store the launch for later requests."""
    claims = launch.claims
    registration: Registration = launch.registration
    deployment = launch.deployment
    if deployment is None:
        deployment, created = Deployment.objects.get_or_create(
            registration=registration, deployment_id=launch.deployment_id
        )
        if created:
            logger.info("accepted new deployment %s of %s", deployment.deployment_id, registration)
    family = _family(claims)
    if family and family != registration.family and registration.family == Family.OTHER:
        Registration.objects.filter(pk=registration.pk).update(family=family)

    user, _ = LtiUser.objects.update_or_create(
        registration=registration,
        sub=str(claims["sub"]),
        defaults={"name": str(claims.get("name") or "")[:500], "email": str(claims.get("email") or "")[:500],
                  **_sis_id(claims)},
    )
    context = resource_link = membership = None
    context_claim = claims.get(c.CONTEXT) or {}
    if isinstance(context_claim, dict) and context_claim.get("id"):
        nrps_url = str((claims.get(c.NRPS) or {}).get("context_memberships_url") or "")
        context, _ = Context.objects.update_or_create(
            registration=registration,
            context_id=str(context_claim["id"]),
            defaults={
                "deployment": deployment,
                "title": str(context_claim.get("title") or "")[:500],
                "label": str(context_claim.get("label") or "")[:255],
                "types": list(context_claim.get("type") or []),
                **({"nrps_url": nrps_url} if nrps_url else {}),
            },
        )
        membership, _ = Membership.objects.update_or_create(
            context=context,
            user=user,
            defaults={"roles": list(claims.get(c.ROLES) or []), "is_active": True, "last_launch_at": timezone.now()},
        )
        link_claim = claims.get(c.RESOURCE_LINK) or {}
        if isinstance(link_claim, dict) and link_claim.get("id"):
            lineitem = str((claims.get(c.AGS_ENDPOINT) or {}).get("lineitem") or "")
            resource_link, _ = ResourceLink.objects.update_or_create(
                context=context,
                resource_link_id=str(link_claim["id"]),
                defaults={
                    "title": str(link_claim.get("title") or "")[:500],
                    "custom": dict(claims.get(c.CUSTOM) or {}),
                    **({"lineitem_url": lineitem} if lineitem else {}),
                },
            )
    lti_launch = LtiLaunch(
        launch_id=secrets.token_urlsafe(32),
        claims=claims,
        registration_id=registration.pk,
        deployment_pk=deployment.pk,
        user_pk=user.pk,
        context_pk=context.pk if context else None,
        resource_link_pk=resource_link.pk if resource_link else None,
        membership_pk=membership.pk if membership else None,
    )
    cache.set(LAUNCH_PREFIX + lti_launch.launch_id, lti_launch.to_cache(), settings.LTI["LAUNCH_TTL_SECONDS"])
    return lti_launch


def launch_get(*, launch_id: str) -> LtiLaunch | None:
    if not launch_id or len(launch_id) > 100:
        return None
    data = cache.get(LAUNCH_PREFIX + launch_id)
    return LtiLaunch(**data) if data else None
