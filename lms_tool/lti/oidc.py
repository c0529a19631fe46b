"""OIDC login initiation (LTI 1.3 core §5.1.1, 1EdTech Security Framework §5.1.1).

The platform sends the browser here with ``iss`` and ``login_hint``; we answer with a redirect to
the platform's authorization endpoint carrying a fresh ``state`` and ``nonce``. Both are kept in
the shared cache (not in process memory, not in a signed cookie) and bound to this browser by a
random secret in a cookie whose hash is stored with the state, so a state lifted from one browser
cannot be completed in another.

Where third-party cookies are blocked, the same secret is kept in the platform instead: with
``lti_storage_target`` in the login request (1EdTech LTI Client Side postMessages and Platform
Storage, "OIDC login with LTI client side postMessages"), the login answers a small page that
stores the secret with ``lti.put_data`` and then goes on to the platform; the launch answers a
page that reads it back with ``lti.get_data`` and posts it to the completion endpoint, where the
state is consumed exactly as with a cookie. A top-level "new window" launch (``tool_window``)
keeps the secret in the tool's own ``sessionStorage`` the same way.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from lms_tool.core.errors import lazy_format

from . import selectors
from .errors import LaunchError
from .models import Registration

STATE_PREFIX = "lti:state:"
COOKIE_PREFIX = "lti1p3-state-"
PROBE_COOKIE = "lti1p3-probe"
# Where the state's secret is kept besides the cookie.
STORAGE_PLATFORM = "platform"  # the platform frame, through lti.put_data / lti.get_data
STORAGE_WINDOW = "window"  # the tool's own sessionStorage, in a top-level window the tool opened
# A frame name (Client Side postMessages §"lti_storage_target"): "_parent" or a named frame.
_FRAME_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class LoginRedirect:
    url: str
    state: str
    cookie_name: str
    cookie_value: str
    storage: str = ""  # "", STORAGE_PLATFORM or STORAGE_WINDOW
    storage_target: str = ""

    @property
    def storage_key(self) -> str:
        return self.cookie_name


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def find_registration(*, issuer: str, client_id: str | None) -> Registration:
    if not issuer:
        raise LaunchError(
            "login_missing_iss",
            _("The login request from your learning platform is incomplete."),
            admin_hint=_("The OIDC login initiation request must carry 'iss'."),
        )
    registrations = selectors.registrations_for(issuer=issuer, client_id=client_id)
    if not registrations and selectors.registration_awaits_approval(issuer=issuer, client_id=client_id):
        raise LaunchError(
            "registration_pending",
            _("This learning platform registered the tool, but the tool's administrator has not approved it yet."),
            admin_hint=lazy_format(
                _(
                    "The registration of issuer %(issuer)s and client_id %(client_id)s came from Dynamic "
                    "Registration without an invitation and awaits approval: a tool admin approves it in the Django "
                    "admin (LTI > Registrations > Approve)."
                )
                if client_id
                else _(
                    "The registration of issuer %(issuer)s came from Dynamic Registration without an invitation and "
                    "awaits approval: a tool admin approves it in the Django admin (LTI > Registrations > Approve)."
                ),
                issuer=repr(issuer),
                client_id=repr(client_id),
            ),
            status=403,
        )
    if not registrations:
        raise LaunchError(
            "unknown_registration",
            _("This learning platform is not registered with the tool."),
            admin_hint=lazy_format(
                _(
                    "No active registration for issuer %(issuer)s and client_id %(client_id)s. Add it with "
                    "`manage.py lti_platform add` or in the admin."
                )
                if client_id
                else _(
                    "No active registration for issuer %(issuer)s. Add it with `manage.py lti_platform add` or in "
                    "the admin."
                ),
                issuer=repr(issuer),
                client_id=repr(client_id),
            ),
            status=403,
        )
    if len(registrations) > 1:
        raise LaunchError(
            "ambiguous_registration",
            _("The tool cannot tell which registration of your platform this login is for."),
            admin_hint=lazy_format(
                _("Issuer %(issuer)s has several registrations; the platform must send 'client_id' with the login."),
                issuer=repr(issuer),
            ),
        )
    return registrations[0]


def _check_target(target_link_uri: str, tool_host: str) -> None:
    # An attacker-supplied target must not turn the login into an open redirect.
    parsed = urlparse(target_link_uri)
    if parsed.scheme not in {"http", "https"} or parsed.netloc != tool_host:
        raise LaunchError(
            "login_bad_target",
            _("The login request points somewhere other than this tool."),
            admin_hint=lazy_format(
                _("target_link_uri %(target)s is not on this tool's host %(host)s."),
                target=repr(target_link_uri),
                host=repr(tool_host),
            ),
        )


def login_start(*, params: dict[str, Any], launch_url: str, tool_host: str) -> LoginRedirect:
    """Validate a login initiation and build the redirect to the platform's auth endpoint."""
    registration = find_registration(issuer=params.get("iss", ""), client_id=params.get("client_id") or None)
    login_hint = params.get("login_hint")
    if not login_hint:
        raise LaunchError(
            "login_missing_hint",
            _("The login request from your learning platform is incomplete."),
            admin_hint=_("The OIDC login initiation request must carry 'login_hint'."),
        )
    target = params.get("target_link_uri") or launch_url
    _check_target(target, tool_host)
    storage, storage_target = _storage(params)

    state = "state-" + secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    binding = secrets.token_urlsafe(24)
    cache.set(
        STATE_PREFIX + state,
        {
            "nonce": nonce,
            "iss": registration.issuer,
            "client_id": registration.client_id,
            "binding": _hash(binding),
            "target_link_uri": target,
            "storage": storage,
            "storage_target": storage_target,
        },
        settings.LTI["STATE_TTL_SECONDS"],
    )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.client_id,
        "redirect_uri": launch_url,
        "state": state,
        "nonce": nonce,
        "login_hint": login_hint,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    sep = "&" if urlparse(registration.auth_login_url).query else "?"
    return LoginRedirect(
        registration.auth_login_url + sep + urlencode(query),
        state,
        COOKIE_PREFIX + state,
        binding,
        storage,
        storage_target,
    )


def _storage(params: dict[str, Any]) -> tuple[str, str]:
    target = params.get("lti_storage_target") or ""
    if target:
        if not _FRAME_NAME.match(target):
            raise LaunchError(
                "login_bad_storage_target",
                _("The login request from your learning platform is malformed."),
                admin_hint=lazy_format(
                    _("lti_storage_target %(target)s is not a frame name."), target=repr(target[:80])
                ),
            )
        return STORAGE_PLATFORM, target
    if params.get("tool_window") == "1":
        return STORAGE_WINDOW, ""
    return "", ""


def state_peek(*, state: str) -> dict[str, Any] | None:
    """The login's stored state without consuming it (the launch decides how to read the secret)."""
    if not state or len(state) > 200:
        return None
    stored = cache.get(STATE_PREFIX + state)
    return dict(stored) if isinstance(stored, dict) else None


def storage_bindings(*, state: str, value: str, cookies: dict[str, str]) -> dict[str, str]:
    """The secret read back from platform (or window) storage, in place of the state cookie."""
    if not value:
        return dict(cookies)
    return {**cookies, COOKIE_PREFIX + state: value}


def state_key(state: str) -> str:
    return STATE_PREFIX + state


def state_check(*, state: str, cookies: dict[str, str], stored: Any) -> dict[str, Any]:
    """The login's state, read by the caller (``stored``: the launch reads it in the same round trip as the
    registry version), checked to belong to this browser. A state presented by another browser is consumed
    here; a good one is consumed by the caller, whose delete decides which of two racing launches wins
    (``launch.launch_validate``)."""
    if not state:
        raise LaunchError(
            "state_missing",
            _("The launch is missing its login state. Go back to your course and open the tool again."),
            admin_hint=_("The platform did not return 'state' with the id_token."),
        )
    if not isinstance(stored, dict):
        raise state_unknown()
    cookie = cookies.get(COOKIE_PREFIX + state)
    if cookie is None or not secrets.compare_digest(_hash(cookie), stored["binding"]):
        cache.delete(state_key(state))
        raise _state_mismatch()
    return dict(stored)


def state_unknown() -> LaunchError:
    return LaunchError(
        "state_unknown",
        _("This launch has expired or was already used. Go back to your course and open the tool again."),
        admin_hint=_(
            "The state is unknown: it expired, was used before, or the login went to another tool server "
            "that does not share this cache (set REDIS_URL for all processes)."
        ),
    )


def _state_mismatch() -> LaunchError:
    return LaunchError(
        "state_mismatch",
        _(
            "Your browser did not keep this tool's login cookie, so the launch cannot be completed here. "
            "Try opening the tool in a new window."
        ),
        admin_hint=_(
            "The state cookie was missing or did not match: third-party cookies may be blocked in the "
            "platform's iframe, or the launch was replayed from another browser."
        ),
    )
