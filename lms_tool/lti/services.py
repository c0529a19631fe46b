"""Writes that follow a validated launch: upsert what the claims describe, keep the launch."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from lms_tool.core import crypto, lean

from . import claims as c
from . import hooks, scopes
from .launch import ValidatedLaunch
from .models import Context, Deployment, Family, LtiUser, Membership, Registration, ResourceLink
from .types import LtiLaunch

logger = logging.getLogger(__name__)
LAUNCH_PREFIX = "lti:launch:"
M = TypeVar("M", bound=models.Model)


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


# A repeat launch within this many seconds does not rewrite Membership.last_launch_at: most
# launches then write nothing at all (the roster page shows the last launch to the minute).
LAST_LAUNCH_RESOLUTION_SECONDS = 60


def _upsert(model: type[M], *, lookup: dict[str, Any], values: dict[str, Any]) -> M:
    """Find by ``lookup``; create, or update only the fields whose value changed (no write if none did)."""
    obj = lean.first(model, lookup)
    if obj is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent first launch may win the insert
                return model._default_manager.create(**lookup, **values)
        except IntegrityError:
            obj = model._default_manager.get(**lookup)
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=[*changed, "updated_at"])
    return obj


def _user(registration: Registration, claims: dict[str, Any]) -> LtiUser:
    values = {"name": str(claims.get("name") or "")[:500], "email": str(claims.get("email") or "")[:500]}
    values.update(_sis_id(claims))
    return _upsert(LtiUser, lookup={"registration": registration, "sub": str(claims["sub"])}, values=values)


def _context(registration: Registration, deployment: Deployment, claims: dict[str, Any]) -> Context | None:
    claim = claims.get(c.CONTEXT) or {}
    if not isinstance(claim, dict) or not claim.get("id"):
        return None
    values: dict[str, Any] = {
        "deployment_id": deployment.pk,  # the id, so comparing does not load the related row
        "title": str(claim.get("title") or "")[:500],
        "label": str(claim.get("label") or "")[:255],
        "types": list(claim.get("type") or []),
    }
    nrps_url = str((claims.get(c.NRPS) or {}).get("context_memberships_url") or "")
    if nrps_url:
        values["nrps_url"] = nrps_url
    return _upsert(Context, lookup={"registration": registration, "context_id": str(claim["id"])}, values=values)


def _membership(context: Context, user: LtiUser, claims: dict[str, Any]) -> Membership:
    membership = _upsert(
        Membership,
        lookup={"context": context, "user": user},
        values={"roles": list(claims.get(c.ROLES) or []), "is_active": True},
    )
    _touch(membership)
    return membership


def _touch(membership: Membership) -> None:
    """Keep the membership's last launch time, to LAST_LAUNCH_RESOLUTION_SECONDS."""
    now = timezone.now()
    last = membership.last_launch_at
    if last is None or (now - last).total_seconds() >= LAST_LAUNCH_RESOLUTION_SECONDS:
        Membership.objects.filter(pk=membership.pk).update(last_launch_at=now)
        membership.last_launch_at = now


def _resource_link(context: Context, claims: dict[str, Any]) -> ResourceLink | None:
    claim = claims.get(c.RESOURCE_LINK) or {}
    if not isinstance(claim, dict) or not claim.get("id"):
        return None
    values: dict[str, Any] = {"title": str(claim.get("title") or "")[:500], "custom": dict(claims.get(c.CUSTOM) or {})}
    lineitem = str((claims.get(c.AGS_ENDPOINT) or {}).get("lineitem") or "")
    if lineitem:
        values["lineitem_url"] = lineitem
    return _upsert(ResourceLink, lookup={"context": context, "resource_link_id": str(claim["id"])}, values=values)


# What a launch records comes from these claims only: a repeat launch whose claims are unchanged
# (most launches: the same student opening the same activity again) finds what it recorded last time
# in the shared cache and skips the upserts and the recorded hooks.
RECORDED_CLAIMS = (
    "sub",
    "name",
    "email",
    "https://purl.imsglobal.org/spec/lti/claim/lis",
    c.CONTEXT,
    c.NRPS,
    c.ROLES,
    c.RESOURCE_LINK,
    c.CUSTOM,
    c.AGS_ENDPOINT,
    c.TOOL_PLATFORM,
)
RECORDED_PREFIX = "lti:recorded:"
RECORDED_TTL_SECONDS = 3600


def _recorded_key(launch: ValidatedLaunch) -> tuple[str, str]:
    """(cache key, fingerprint of the recorded claims): keyed hashes, so the cache holds no claim values."""
    secret = crypto.secret_key_for("lti-recorded")
    claims = launch.claims
    context, link = (claims.get(name) for name in (c.CONTEXT, c.RESOURCE_LINK))
    who = [launch.registration.pk, launch.deployment_id, claims.get("sub")] + [
        part.get("id") if isinstance(part, dict) else None for part in (context, link)
    ]
    key = hmac.new(secret, json.dumps(who, default=str).encode(), hashlib.sha256).hexdigest()
    values = [launch.deployment.pk if launch.deployment else None] + [claims.get(k) for k in RECORDED_CLAIMS]
    fingerprint = hmac.new(secret, json.dumps(values, sort_keys=True, default=str).encode(), hashlib.sha256)
    return RECORDED_PREFIX + key, fingerprint.hexdigest()


def _recorded_again(key: str, fingerprint: str) -> dict[str, Any] | None:
    """The rows the same launch recorded last time, if its claims are unchanged and the membership is still
    there and active (one lean query: a dropped member was refused before this, a deleted one is recorded anew)."""
    known = cache.get(key)
    if not isinstance(known, dict) or known.get("fingerprint") != fingerprint:
        return None
    if known["membership_pk"] is not None:
        membership = lean.first(Membership, {"id": known["membership_pk"]})
        if membership is None or not membership.is_active:
            return None
        _touch(membership)
    return known


def launch_record(*, launch: ValidatedLaunch) -> LtiLaunch:
    """Record what the launch describes (``_launch_upsert``) and keep the launch for the following requests."""
    key, fingerprint = _recorded_key(launch)
    known = _recorded_again(key, fingerprint) if launch.deployment is not None else None
    if known is None:
        lti_launch = _launch_upsert(launch=launch)
        known = {"fingerprint": fingerprint, **{k: v for k, v in lti_launch.to_cache().items() if k.endswith("_pk")}}
        transaction.on_commit(lambda: cache.set(key, known, RECORDED_TTL_SECONDS))
    else:
        lti_launch = LtiLaunch(
            launch_id=secrets.token_urlsafe(32),
            claims=launch.claims,
            registration_id=launch.registration.pk,
            **{k: v for k, v in known.items() if k.endswith("_pk")},
        )
    name, sealed = _launch_seal(lti_launch.launch_id, lti_launch.to_cache())
    cache.set(name, sealed, settings.LTI["LAUNCH_TTL_SECONDS"])
    return lti_launch


@transaction.atomic
def _launch_upsert(*, launch: ValidatedLaunch) -> LtiLaunch:
    """Upsert deployment, context, resource link, user and membership; run the recorded hooks.

    Every upsert compares before it writes, so even here a repeat launch with nothing new only reads."""
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
    scopes.scopes_observe(registration=registration, claims=claims)

    user = _user(registration, claims)
    context = _context(registration, deployment, claims)
    membership = _membership(context, user, claims) if context else None
    resource_link = _resource_link(context, claims) if context else None
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
    hooks.run_recorded(lti_launch)
    return lti_launch


# The kept launch holds the claims, names and emails included, so the shared cache only ever sees it
# sealed: AES-GCM under a key derived from the launch id, which the cache never stores (its entry is
# named by a different keyed hash of the id). Reading Redis, or its dumps, gives no PII.
def _launch_keys(launch_id: str) -> tuple[str, bytes]:
    secret = crypto.secret_key_for("lti-launch")
    name = hmac.new(secret, b"name:" + launch_id.encode(), hashlib.sha256).hexdigest()
    key = hmac.new(secret, b"key:" + launch_id.encode(), hashlib.sha256).digest()
    return LAUNCH_PREFIX + name, key


def _launch_seal(launch_id: str, data: dict[str, Any]) -> tuple[str, bytes]:
    name, key = _launch_keys(launch_id)
    nonce = os.urandom(12)
    return name, nonce + AESGCM(key).encrypt(nonce, json.dumps(data, separators=(",", ":")).encode(), None)


def launch_get(*, launch_id: str) -> LtiLaunch | None:
    if not launch_id or len(launch_id) > 100:
        return None
    name, key = _launch_keys(launch_id)
    sealed = cache.get(name)
    if not isinstance(sealed, bytes) or len(sealed) < 13:
        return None
    try:
        data = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], None))
    except InvalidTag:
        logger.warning("a kept launch could not be unsealed (SECRET_KEY changed?); treated as expired")
        return None
    return LtiLaunch(**data)
