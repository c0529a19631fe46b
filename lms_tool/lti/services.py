"""Writes that follow a validated launch: upsert what the claims describe, keep the launch."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from lms_tool.core import crypto, lean
from lms_tool.core.models import AuditEvent
from lms_tool.core.services import audit_record

from . import claims as c
from . import framing, hooks, scopes
from . import launch as launch_module
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


def _upserted(
    model: type[M],
    *,
    lookup: dict[str, Any],
    values: dict[str, Any],
    created: dict[str, Any] | None = None,
    surely_new: bool = False,
    found: M | None = None,
) -> tuple[M, bool]:
    """(row, whether this call created it). Find by ``lookup``; create (with ``created`` too), or update only the
    fields whose value changed (no write if none did). ``surely_new``: the lookup names a row that cannot exist
    yet (its person was created in this transaction, or a read just now found none), so the read is skipped; a
    row there after all (a concurrent launch) is still found and updated, never duplicated. ``found``: the row,
    read just now by the caller: not read again."""
    obj = found if found is not None else None if surely_new else lean.first(model, lookup)
    if obj is None:
        made = model(**lookup, **values, **(created or {}))
        if lean.insert_unless_there(made):
            return made, True
        obj = model._default_manager.get(**lookup)  # a concurrent first launch made it: found, then updated
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        lean.update(obj, (*changed, "updated_at"))
    return obj, False


def _user(registration: Registration, claims: dict[str, Any]) -> tuple[LtiUser, bool]:
    """(the person, whether this launch is the first to name them)."""
    values = {"name": str(claims.get("name") or "")[:500], "email": str(claims.get("email") or "")[:500]}
    values.update(_sis_id(claims))
    return _upserted(LtiUser, lookup={"registration": registration, "sub": str(claims["sub"])}, values=values)


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
    return _upserted(Context, lookup={"registration": registration, "context_id": str(claim["id"])}, values=values)[0]


def _membership(
    context: Context, user: LtiUser, claims: dict[str, Any], *, user_is_new: bool, read: Membership | None
) -> Membership:
    """The person's membership of the course; a person first seen in this launch has none yet, so it is created
    without a read, with its last launch time (docs/benchmarks.md, "Burst": the class's first launches).

    ``read``: the launch's own read of the membership (``ValidatedLaunch.membership``, made for the roster's
    revocation check), used instead of reading it again when it is this person's in this course, or None."""
    now = timezone.now()
    this_one = read is not None and (read.context_id, read.user_id) == (context.pk, user.pk)  # else read it here
    membership, _ = _upserted(
        Membership,
        lookup={"context": context, "user": user},
        values={"roles": list(claims.get(c.ROLES) or []), "is_active": True},
        created={"last_launch_at": now},
        surely_new=user_is_new or read is None,
        found=read if this_one else None,
    )
    if membership.last_launch_at != now:
        _touch(membership)
    return membership


def _touch(membership: Membership) -> None:
    """Keep the membership's last launch time, to LAST_LAUNCH_RESOLUTION_SECONDS."""
    now = timezone.now()
    last = membership.last_launch_at
    if last is None or (now - last).total_seconds() >= LAST_LAUNCH_RESOLUTION_SECONDS:
        membership.last_launch_at = now
        lean.update(membership, ("last_launch_at",))  # as filter(pk=...).update(...) writes it, built once


def _resource_link(context: Context, claims: dict[str, Any]) -> ResourceLink | None:
    claim = claims.get(c.RESOURCE_LINK) or {}
    if not isinstance(claim, dict) or not claim.get("id"):
        return None
    values: dict[str, Any] = {"title": str(claim.get("title") or "")[:500], "custom": dict(claims.get(c.CUSTOM) or {})}
    lineitem = str((claims.get(c.AGS_ENDPOINT) or {}).get("lineitem") or "")
    if lineitem:
        values["lineitem_url"] = lineitem
    return _upserted(ResourceLink, lookup={"context": context, "resource_link_id": str(claim["id"])}, values=values)[0]


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
RECORDED_PREFIX = launch_module.RECORDED_PREFIX
RECORDED_TTL_SECONDS = 3600


def _recorded_key(launch: ValidatedLaunch) -> tuple[str, str]:
    """(cache key, fingerprint of the recorded claims): keyed hashes, so the cache holds no claim values."""
    secret = crypto.secret_key_for("lti-recorded")
    claims = launch.claims
    values = [launch.deployment.pk if launch.deployment else None] + [claims.get(k) for k in RECORDED_CLAIMS]
    fingerprint = hmac.new(secret, json.dumps(values, sort_keys=True, default=str).encode(), hashlib.sha256)
    name = launch.recorded_name or launch_module.recorded_key(launch.registration.pk, claims)
    return name, fingerprint.hexdigest()


def _recorded_again(launch: ValidatedLaunch, key: str, fingerprint: str) -> dict[str, Any] | None:
    """The rows the same launch recorded last time, if its claims are unchanged and the membership is still
    there and active (the launch's one membership read, shared with the roster's revocation check: a dropped
    member was refused before this, a deleted one is recorded anew)."""
    # Read with the launch's state and nonce (``launch.launch_validate``), else here.
    known = launch.recorded if launch.recorded_read else cache.get(key)
    if not isinstance(known, dict) or known.get("fingerprint") != fingerprint:
        return None
    if known["membership_pk"] is not None:
        membership = launch.membership()
        if membership is None or membership.pk != known["membership_pk"] or not membership.is_active:
            return None
        _touch(membership)
    return known


def launch_record(*, launch: ValidatedLaunch, posted_from: str = "") -> LtiLaunch:
    """Record what the launch describes (``_launch_upsert``) and keep the launch for the following requests.

    ``posted_from``: the Origin (or Referer) of the launch POST, a frame origin to learn when it is the platform's."""
    key, fingerprint = _recorded_key(launch)
    known = _recorded_again(launch, key, fingerprint) if launch.deployment is not None else None
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
    frame_origins = _frame_origins_learn(launch=launch, posted_from=posted_from)
    issued_at = int(_now())
    kept = {"launch": lti_launch.to_cache(), "issued_at": issued_at, "frame_origins": frame_origins}
    name, sealed = _launch_seal(lti_launch.launch_id, kept)
    cache.set(name, sealed, _launch_ttl(issued_at, now=issued_at))
    _renewed[name] = issued_at
    return lti_launch


def _frame_origins_learn(*, launch: ValidatedLaunch, posted_from: str) -> list[str]:
    """The registration's frame origins, with those this launch vouches for added (docs/security.md, "Framing").

    Compared before anything is written: only a launch that brings an origin not seen before writes."""
    registration = launch.registration
    known = framing.origins_valid(registration.frame_origins)
    attested = framing.origins_attested(
        claims=launch.claims, issuer=registration.issuer, login_url=registration.auth_login_url, posted_from=posted_from
    )
    if all(origin in known for origin in attested):
        return known
    with transaction.atomic():
        row = Registration.objects.select_for_update().only("frame_origins").get(pk=registration.pk)
        current = framing.origins_valid(row.frame_origins)
        room = max(0, framing.MAX_FRAME_ORIGINS - len(current))
        added = [origin for origin in attested if origin not in current][:room]
        if added:
            Registration.objects.filter(pk=registration.pk).update(
                frame_origins=current + added, updated_at=timezone.now()
            )
            audit_record(
                actor_type=AuditEvent.Actor.PLATFORM,
                actor_id=str(registration.pk),
                action="registration.frame_origins",
                object_type="registration",
                object_id=registration.pk,
                source="launch",
                before=current,
                after=current + added,
            )
            logger.info("learned frame origin(s) %s of %s from a launch", added, registration)
        elif len(current) >= framing.MAX_FRAME_ORIGINS:
            logger.warning("%s already has %d frame origins: %s not added", registration, len(current), attested)
    return current + added


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

    user, user_is_new = _user(registration, claims)
    context = _context(registration, deployment, claims)
    membership = (
        _membership(context, user, claims, user_is_new=user_is_new, read=launch.membership()) if context else None
    )
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


@dataclass(frozen=True)
class Resumed:
    """A kept launch as a page uses it: the launch, and the origins that may frame its pages."""

    launch: LtiLaunch
    frame_origins: list[str]


# A kept launch lives LTI_LAUNCH_IDLE_SECONDS past its last use and never more than LTI_LAUNCH_MAX_SECONDS
# past the launch (docs/security.md, "Launch ids"). A use renews it with the cache's touch (Redis EXPIRE,
# one UPDATE of the database cache): the sealed entry is never rewritten. Each process renews a launch at
# most once per RENEW_EVERY seconds, so a page and its requests (autosaves, polls) cost one touch at most.
RENEW_EVERY_SECONDS = 60
_renewed: dict[str, float] = {}
_RENEWED_MAX = 50_000


def _now() -> float:
    return time.time()


def _launch_ttl(issued_at: float, *, now: float) -> int:
    """Seconds the launch may still live from ``now``: the idle time, cut at the absolute cap (0: over)."""
    cap = issued_at + settings.LTI["LAUNCH_MAX_SECONDS"] - now
    return max(0, int(min(settings.LTI["LAUNCH_IDLE_SECONDS"], cap)))


def _launch_open(launch_id: str) -> tuple[str, LtiLaunch, dict[str, Any]] | None:
    """(cache name, launch, what is kept with it), or None when it is unknown, expired or past its cap."""
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
    # A launch kept before launches carried their issue time (and frame origins) is treated as expired:
    # the person launches again from the course, which records both.
    if not isinstance(data, dict) or "issued_at" not in data:
        return None
    if _launch_ttl(data["issued_at"], now=_now()) <= 0:
        return None
    return name, LtiLaunch(**data["launch"]), data


def launch_get(*, launch_id: str) -> LtiLaunch | None:
    """The kept launch, without renewing it (None when unknown, expired or past its cap)."""
    opened = _launch_open(launch_id)
    return opened[1] if opened else None


def launch_resume(*, launch_id: str) -> Resumed | None:
    """The kept launch for a page, renewed: this use extends its life by the idle time, up to the cap."""
    opened = _launch_open(launch_id)
    if opened is None:
        return None
    name, lti_launch, data = opened
    now = _now()
    last = _renewed.get(name)
    if last is None or now - last >= RENEW_EVERY_SECONDS:
        if len(_renewed) >= _RENEWED_MAX:
            _renewed.clear()  # forgetting only costs one extra touch per live launch
        _renewed[name] = now
        cache.touch(name, _launch_ttl(data["issued_at"], now=now))
    return Resumed(launch=lti_launch, frame_origins=framing.origins_valid(data.get("frame_origins")))
