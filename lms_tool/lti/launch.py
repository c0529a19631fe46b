"""Validation of an LTI 1.3 launch (id_token), correct where pylti1p3 is not.

Compared with pylti1p3's ``MessageLaunch.validate()`` (docs/platforms.md, pylti1p3 defects 1-4):
- the nonce is single-use, kept in the shared cache until the token expires;
- ``aud`` must contain our client_id, and ``azp`` must name it when there are several audiences;
- the platform JWKS is shared through the cache and refetched once on an unknown ``kid``;
- the state is single-use and bound to the browser that started the login.
The message claims are then checked by pylti1p3's own message validators (the library's rules for
each message type), plus the checks it lacks (``message_type`` known, ``version``, ``deployment_id``).
Nothing here writes to the database: a refused launch leaves no trace but a log line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from lms_tool.core import cache as core_cache
from lms_tool.core import crypto
from lms_tool.core.errors import english, lazy_format

from . import claims as c
from . import oidc, platform_keys, registry_memo, selectors, tokens
from .errors import LaunchError
from .models import Deployment, DeploymentPolicy, Membership, Registration

SUPPORTED_MESSAGE_TYPES = {
    "LtiResourceLinkRequest",
    "LtiDeepLinkingRequest",
    "LtiSubmissionReviewRequest",
}
NONCE_PREFIX = "lti:nonce:"
_VALIDATORS = get_validators()
# Claims the tool reads as JSON objects (LTI core §5.3-5.4, AGS §3.1, NRPS §3.6.1, DL §4.4.1).
OBJECT_CLAIMS = (
    c.CONTEXT,
    c.RESOURCE_LINK,
    c.TOOL_PLATFORM,
    c.CUSTOM,
    c.LAUNCH_PRESENTATION,
    c.FOR_USER,
    c.AGS_ENDPOINT,
    c.NRPS,
    c.DL_SETTINGS,
)
# LTI core §5.3.5, §5.3.6, §5.4.1: ids are at most 255 ASCII characters (and so are our columns).
MAX_ID = 255
# Service URLs the tool stores (ResourceLink.lineitem_url, Context.nrps_url).
MAX_URL = 1000
SERVICE_URLS = (
    (c.AGS_ENDPOINT, "lineitems"),
    (c.AGS_ENDPOINT, "lineitem"),
    (c.NRPS, "context_memberships_url"),
    (c.DL_SETTINGS, "deep_link_return_url"),
)


_UNREAD: Any = object()
# The record of a repeat launch (``services.launch_record``): read in the launch's own cache round trip.
RECORDED_PREFIX = "lti:recorded:"


def recorded_key(registration_pk: int, claims: dict[str, Any]) -> str:
    """The cache key of what the same person's launch of the same link recorded last time: a keyed hash, so
    the cache holds no claim values."""
    context, link = (claims.get(name) for name in (c.CONTEXT, c.RESOURCE_LINK))
    who = [registration_pk, str(claims.get(c.DEPLOYMENT_ID)), claims.get("sub")] + [
        part.get("id") if isinstance(part, dict) else None for part in (context, link)
    ]
    secret = crypto.secret_key_for("lti-recorded")
    return RECORDED_PREFIX + hmac.new(secret, json.dumps(who, default=str).encode(), hashlib.sha256).hexdigest()


@dataclass
class ValidatedLaunch:
    claims: dict[str, Any]
    registration: Registration
    # None when the deployment is new and the registration's policy accepts it: created on record.
    deployment: Deployment | None
    _membership: Any = dataclasses.field(default=_UNREAD, repr=False, compare=False)
    # What ``recorded_key`` held when the launch consumed its state (None: nothing), read in that round trip.
    recorded: Any = dataclasses.field(default=_UNREAD, repr=False, compare=False)
    recorded_name: str = dataclasses.field(default="", repr=False, compare=False)  # its ``recorded_key``

    @property
    def recorded_read(self) -> bool:
        return self.recorded is not _UNREAD

    @property
    def deployment_id(self) -> str:
        return str(self.claims[c.DEPLOYMENT_ID])

    def membership(self) -> Membership | None:
        """The person's membership of the launch's course as it is now, active or not (None outside a course or
        before their first launch). One query, read once: the roster's revocation check (a launch check) and
        the record of a repeat launch (``services.launch_record``) share it."""
        if self._membership is _UNREAD:
            context, sub = self.claims.get(c.CONTEXT), self.claims.get("sub")
            if isinstance(context, dict) and context.get("id") and isinstance(sub, str) and sub:
                self._membership = selectors.membership_by_claims(
                    registration_id=self.registration.pk, context_id=str(context["id"]), sub=sub
                )
            else:
                self._membership = None
        return self._membership  # type: ignore[no-any-return]


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return aud
    raise LaunchError("token_missing_claim", _("The launch message has no audience."), detail=f"aud={aud!r}")


def _registration(claims: dict[str, Any], version: str | None) -> Registration:
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise LaunchError(
            "token_missing_claim", _("The launch message does not name its platform."), detail="iss missing"
        )
    audiences = _audiences(claims)
    azp = claims.get("azp")
    # OIDC Core §3.1.3.7 / LTI core §5.1.2: with several audiences azp must be present and is the
    # client the token was issued to; with one audience, azp (if present) must be that audience.
    if len(audiences) > 1 and not azp:
        raise LaunchError(
            "token_azp_missing",
            _("The launch message is addressed to several tools and does not say which."),
            admin_hint=_("An id_token with several audiences must carry 'azp'."),
            status=401,
        )
    if azp is not None and azp not in audiences:
        raise LaunchError(
            "token_azp_mismatch",
            _("The launch message is not addressed to this tool."),
            admin_hint=lazy_format(
                _("azp %(azp)s is not among the audiences %(audiences)s."), azp=repr(azp), audiences=repr(audiences)
            ),
            status=401,
        )
    client_id = azp if azp is not None else audiences[0]  # as LtiLaunch.client_id reads it back (types.client_id_of)
    registration = selectors.registration_get(issuer=iss, client_id=client_id, version=version)
    if registration is None:
        known = selectors.registrations_for(issuer=iss, client_id=None, version=version)
        if known:
            raise LaunchError(
                "token_wrong_audience",
                _("The launch message is not addressed to this tool."),
                admin_hint=lazy_format(
                    _(
                        "The token's audience %(audiences)s does not contain a client_id registered for %(issuer)s "
                        "(known: %(known)s)."
                    ),
                    audiences=repr(audiences),
                    issuer=repr(iss),
                    known=repr([r.client_id for r in known]),
                ),
                status=401,
            )
        raise LaunchError(
            "unknown_registration",
            _("This learning platform is not registered with the tool."),
            admin_hint=lazy_format(
                _("No active registration for issuer %(issuer)s and client_id %(client_id)s."),
                issuer=repr(iss),
                client_id=repr(client_id),
            ),
            status=403,
        )
    return registration


def _deployment(registration: Registration, claims: dict[str, Any], version: str | None) -> Deployment | None:
    deployment_id = claims.get(c.DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LaunchError("token_missing_claim", _("The launch message has no deployment id."), detail="deployment_id")
    if len(deployment_id) > MAX_ID:
        raise _bad_claim(c.DEPLOYMENT_ID, lazy_format(_("is longer than %(limit)s characters"), limit=MAX_ID))
    deployment = selectors.deployment_get(registration=registration, deployment_id=deployment_id, version=version)
    if deployment is None:
        if registration.deployment_policy == DeploymentPolicy.ACCEPT_NEW:
            return None
        raise LaunchError(
            "unknown_deployment",
            _("This installation of the tool in your platform is not enabled."),
            admin_hint=lazy_format(
                _(
                    "Deployment %(deployment)s of %(registration)s is not registered and the registration only "
                    "accepts listed deployments. Add it with `manage.py lti_platform add --deployment-id`."
                ),
                deployment=repr(deployment_id),
                registration=str(registration),
            ),
            status=403,
        )
    if not deployment.is_active:
        raise LaunchError(
            "inactive_deployment",
            _("This installation of the tool in your platform has been turned off."),
            admin_hint=lazy_format(
                _("Deployment %(deployment)s of %(registration)s is inactive; reactivate it in the admin."),
                deployment=repr(deployment_id),
                registration=str(registration),
            ),
            status=403,
        )
    return deployment


def _bad_claim(name: str, why: StrOrPromise) -> LaunchError:
    # ``why`` completes the sentence "The claim 'x' …" (translated as such: "must be a string").
    return LaunchError(
        "token_bad_claim",
        _("The launch message from your learning platform contains information in a form the tool cannot read."),
        admin_hint=lazy_format(
            _("The claim %(claim)s %(why)s; check the platform's LTI 1.3 configuration or custom claims."),
            claim=repr(name),
            why=why,
        ),
        detail=f"{name} {english(why)}",
    )


def _check_id(name: str, value: Any) -> None:
    # Ids are strings (LTI core §5.3.5); a number is stored as its text, anything else is refused.
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad_claim(name, _("must be a string"))
    if len(str(value)) > MAX_ID:
        raise _bad_claim(name, lazy_format(_("is longer than %(limit)s characters"), limit=MAX_ID))


def _check_shapes(claims: dict[str, Any]) -> None:
    """Refuse claims of the wrong JSON type, which would otherwise fail later in the tool's pages.

    A claim sent as JSON null counts as absent (and is dropped, so later checks see it missing).
    """
    for name in OBJECT_CLAIMS:
        if name in claims and claims[name] is None:
            del claims[name]
        elif name in claims and not isinstance(claims[name], dict):
            raise _bad_claim(name, _("must be a JSON object"))
    if claims.get("sub") is not None:
        if not isinstance(claims["sub"], str):
            raise _bad_claim("sub", _("must be a string"))
        _check_id("sub", claims["sub"])
    roles = claims.get(c.ROLES)
    if roles is not None and not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
        raise _bad_claim(c.ROLES, _("must be a list of role URIs"))
    _check_id(c.CONTEXT + ".id", claims.get(c.CONTEXT, {}).get("id"))
    _check_id(c.RESOURCE_LINK + ".id", claims.get(c.RESOURCE_LINK, {}).get("id"))
    context_types = claims.get(c.CONTEXT, {}).get("type")
    if context_types is not None and not isinstance(context_types, list):
        raise _bad_claim(c.CONTEXT + ".type", _("must be a list"))
    for claim, field in SERVICE_URLS:
        url = claims.get(claim, {}).get(field)
        if url is not None and (not isinstance(url, str) or len(url) > MAX_URL):
            raise _bad_claim(
                f"{claim}.{field}", lazy_format(_("must be a URL of at most %(limit)s characters"), limit=MAX_URL)
            )


def _check_message(claims: dict[str, Any]) -> None:
    if claims.get(c.VERSION) != "1.3.0":
        raise LaunchError(
            "token_bad_version",
            _("The launch message uses an LTI version this tool does not support."),
            admin_hint=lazy_format(
                _("Expected LTI version 1.3.0, got %(version)s."), version=repr(claims.get(c.VERSION))
            ),
        )
    message_type = claims.get(c.MESSAGE_TYPE)
    if message_type not in SUPPORTED_MESSAGE_TYPES:
        raise LaunchError(
            "token_bad_message_type",
            _("The launch message is of a kind this tool does not handle."),
            admin_hint=lazy_format(
                _("message_type %(message_type)s is not one of %(supported)s."),
                message_type=repr(message_type),
                supported=str(sorted(SUPPORTED_MESSAGE_TYPES)),
            ),
        )
    _check_shapes(claims)
    for validator in _VALIDATORS:
        if validator.can_validate(claims):
            try:
                validator.validate(claims)
            except LtiException as exc:
                raise LaunchError(
                    "token_missing_claim",
                    _("The launch message is missing information the tool needs."),
                    admin_hint=lazy_format(
                        _("The platform's %(message_type)s failed validation: %(problem)s."),
                        message_type=message_type,
                        problem=str(exc),
                    ),
                    detail=str(exc),
                ) from exc
    if not isinstance(claims.get(c.ROLES), list):
        raise LaunchError("token_missing_claim", _("The launch message has no roles."), detail="roles")
    if message_type == "LtiDeepLinkingRequest" and not claims[c.DL_SETTINGS].get("deep_link_return_url"):
        # DL §4.4.1: required, and without it the tool could never send its answer back.
        raise LaunchError(
            "token_missing_claim",
            _("The launch message is missing information the tool needs."),
            admin_hint=_("The deep-linking request has no deep_link_return_url."),
            detail="deep_link_return_url",
        )


def _nonce_checked(claims: dict[str, Any], expected: str, now: float) -> tuple[str, int]:
    """The nonce's cache key and how long to keep it, once it matches the login's (``_nonce_consume``)."""
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise LaunchError("token_missing_claim", _("The launch message has no nonce."), detail="nonce")
    if nonce != expected:
        raise LaunchError(
            "nonce_mismatch",
            _("The launch does not match the login that started it. Open the tool again from your course."),
            admin_hint=_("The id_token's nonce differs from the one sent with the login request."),
            status=401,
        )
    # Kept while the token is acceptable, but no longer than its login's state: once the state is
    # gone no launch can present this nonce again (the nonce must match the state's). The bound
    # also keeps a far-future ``exp`` from overflowing the cache's expiry arithmetic.
    lifetime = min(claims["exp"] - now, settings.LTI["STATE_TTL_SECONDS"])
    ttl = max(int(lifetime) + settings.LTI["LEEWAY_SECONDS"], 1)
    # Hashed: the issuer can be 255 characters, more than a database cache key holds.
    key = NONCE_PREFIX + hashlib.sha256(f"{claims['iss']}\n{nonce}".encode()).hexdigest()
    return key, ttl


def _nonce_replayed() -> LaunchError:
    return LaunchError(
        "nonce_replayed",
        _("This launch was already used. Go back to your course and open the tool again."),
        admin_hint=_("The id_token's nonce has been seen before: a replayed launch was refused."),
        status=401,
    )


def _state_and_nonce_consume(
    *, state: str, cookies: dict[str, str], stored: Any, registration: Registration, claims: dict[str, Any], now: float
) -> tuple[Any, str]:
    """The login's state single-use and bound to this browser, the token's nonce that of the login and single-use.

    Every check runs on the state read with the registry version; then one cache round trip deletes the state
    (of two racing launches, only the one whose delete found it goes on) and adds the nonce (a replayed token is
    refused), and reads the record of a repeat launch (``recorded_key``): (what it holds, its key). A launch refused after its
    state was found consumes the state all the same, as before."""
    login = oidc.state_check(state=state, cookies=cookies, stored=stored)
    key = oidc.state_key(state)
    try:
        if (login["iss"], login["client_id"]) != (registration.issuer, registration.client_id):
            raise LaunchError(
                "state_mismatch",
                _("The launch does not match the login that started it. Open the tool again from your course."),
                admin_hint=_("The login was started for another platform registration."),
            )
        nonce_key, ttl = _nonce_checked(claims, login["nonce"], now)
    except LaunchError:
        cache.delete(key)
        raise
    recorded_name = recorded_key(registration.pk, claims)
    deleted, added, recorded = core_cache.delete_then_add(key, nonce_key, 1, ttl, get_key=recorded_name)
    if not deleted:
        raise oidc.state_unknown()
    if not added:
        raise _nonce_replayed()
    return recorded, recorded_name


def launch_validate(*, id_token: str, state: str, cookies: dict[str, str], now: float | None = None) -> ValidatedLaunch:
    """Check every part of a launch; raises ``LaunchError`` naming the first check that fails."""
    now = time.time() if now is None else now
    if not id_token:
        raise LaunchError(
            "token_missing",
            _("The launch did not include its signed message."),
            admin_hint=_("The platform posted to the launch URL without an id_token."),
        )
    token = tokens.parse(id_token, max_bytes=settings.LTI["MAX_ID_TOKEN_BYTES"])
    # One cache round trip for the registry version (vouching for this process's memo of registrations and
    # deployments, ``registry_memo``) and the login's state (consumed below, after the signature).
    state_key = oidc.state_key(state)
    found = cache.get_many([registry_memo.VERSION_KEY, state_key]) if state else {}
    version = found.get(registry_memo.VERSION_KEY)
    version = version if isinstance(version, str) else None
    registration = _registration(token.claims, version)
    tokens.verify_signature(token, platform_keys.public_key(registration.key_set_url, token.header.get("kid")))
    claims = token.claims
    tokens.check_times(claims, now=now, leeway=settings.LTI["LEEWAY_SECONDS"])
    recorded, recorded_name = _state_and_nonce_consume(
        state=state,
        cookies=cookies,
        stored=found.get(state_key),
        registration=registration,
        claims=claims,
        now=now,
    )
    deployment = _deployment(registration, claims, version)
    _check_message(claims)
    return ValidatedLaunch(
        claims=claims, registration=registration, deployment=deployment, recorded=recorded, recorded_name=recorded_name
    )
