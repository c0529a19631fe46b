"""A platform's OpenID configuration, fetched and checked (LTI Dynamic Registration 1.0 §3.4-3.5).

The URL comes from whoever opened ``/lti/register/``, so it is fetched as an untrusted URL
(``core.http``: private and loopback addresses refused), must be HTTPS outside development, must
answer JSON with the endpoints the tool needs, and its ``issuer`` must have the configuration
URL's origin (DR §3.5.1): otherwise anyone could register a look-alike of a real platform's issuer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from lms_tool.core import http

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from lms_tool.core.errors import CodedError, lazy_format

from . import tool_config
from .models import Family

logger = logging.getLogger(__name__)
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS_ACCOUNT_NAME = "https://canvas.instructure.com/lti/account_name"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
# What ``check_url`` names in the sentence a person reads (the admin hint keeps the configuration's own field name).
URL_LABELS = {
    "configuration URL": _("configuration address"),
    "issuer": _("issuer"),
    "authorization endpoint": _("authorization endpoint"),
    "token endpoint": _("token endpoint"),
    "jwks uri": _("public key (JWKS) address"),
    "registration endpoint": _("registration endpoint"),
}
MAX_CONFIG_BYTES = 256 * 1024
# The audit line keeps the configuration URL as its source (core AuditEvent.source, 2048 characters).
MAX_CONFIG_URL = 2048


class RegistrationError(CodedError):
    """A dynamic registration that cannot go on. ``code`` names the check that failed."""

    title = _("The tool could not be registered")


@dataclass
class PlatformConfig:
    url: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    family: str
    product_family_code: str = ""
    version: str = ""
    account_name: str = ""
    scopes_supported: list[str] | None = None
    # message type -> placements the platform offers for it (Canvas lists them per message type,
    # Moodle lists message types as strings and placements once for all).
    messages_supported: dict[str, set[str]] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        if self.account_name:
            return self.account_name
        try:
            return str(http.parse_url(self.issuer).netloc or self.issuer)
        except http.AmbiguousUrlError:
            return self.issuer

    def requested_scopes(self) -> list[str]:
        """The tool's scopes that the platform offers (all of them when it does not say)."""
        if self.scopes_supported is None:
            return list(tool_config.REQUESTED_SCOPES)
        return [s for s in tool_config.REQUESTED_SCOPES if s in self.scopes_supported]

    def scopes_not_offered(self) -> list[str]:
        return [s for s in tool_config.REQUESTED_SCOPES if s not in self.requested_scopes()]

    def to_cache(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["messages_supported"] = {k: sorted(v) for k, v in self.messages_supported.items()}
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> PlatformConfig:
        data = dict(data)
        data["messages_supported"] = {k: set(v) for k, v in data["messages_supported"].items()}
        return cls(**data)


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = http.parse_url(url)  # checked by check_url first
    port = parsed.port or {"https": 443, "http": 80}.get(str(parsed.scheme))
    return str(parsed.scheme), str(parsed.host or "").lower(), port


# What an admin can check when a platform cannot be reached; the log says which of these it was.
def unreachable_hint(url: str) -> StrOrPromise:
    """The admin hint for a platform URL the tool could not reach (its query left out: it may carry tokens); the
    same words whatever failed (``http.UNREACHABLE``)."""
    return lazy_format(
        _(
            "%(url)s: could not reach the address; it must be a public https URL. Check the platform is reachable "
            "from the tool's server; a platform on a private network must be listed in HTTP_ALLOWED_PRIVATE_HOSTS. "
            "The tool's log says what failed."
        ),
        url=url.split("?", 1)[0],
    )


def check_url(url: str, *, what: str, code: str) -> None:
    """An absolute http(s) URL that reads one way only; HTTPS unless LTI_DEV_ALLOW_HTTP (development and tests)."""
    try:
        parsed = http.parse_url(url)
    except http.AmbiguousUrlError as exc:
        raise RegistrationError(
            code,
            lazy_format(
                _("The platform's %(what)s is not a web address the tool can use."), what=URL_LABELS.get(what, what)
            ),
            admin_hint=lazy_format(
                _("%(what)s: %(url)s is not an absolute http(s) URL, or carries a user name, backslashes or spaces."),
                what=what,
                url=repr(str(url)[:300]),
            ),
            detail=str(exc),
        ) from exc
    if parsed.scheme != "https" and not settings.LTI_DEV_ALLOW_HTTP:
        raise RegistrationError(
            code,
            lazy_format(
                _("The platform's %(what)s does not use HTTPS, so the tool will not trust it."),
                what=URL_LABELS.get(what, what),
            ),
            admin_hint=lazy_format(
                _(
                    "%(what)s: %(url)s. Serve the platform over HTTPS (plain HTTP is accepted only with "
                    "LTI_DEV_ALLOW_HTTP=1, for development)."
                ),
                what=what,
                url=repr(url),
            ),
        )


def config_fetch(*, url: str, token: str) -> PlatformConfig:
    """GET the OpenID configuration (with the registration token as Bearer, as Canvas requires)."""
    if not url:
        raise RegistrationError(
            "config_url_missing",
            _("The registration link is incomplete: it has no platform configuration address."),
            admin_hint=_(
                "Open /lti/register/ from your platform's dynamic registration screen; the platform adds "
                "'openid_configuration' and 'registration_token' to it."
            ),
        )
    if len(url) > MAX_CONFIG_URL:
        raise RegistrationError(
            "config_url_too_long",
            _("The platform's configuration address is too long."),
            admin_hint=lazy_format(
                _("The openid_configuration URL has %(length)s characters; the tool accepts up to %(limit)s."),
                length=len(url),
                limit=MAX_CONFIG_URL,
            ),
        )
    check_url(url, what="configuration URL", code="config_url_insecure")
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = http.get(url, untrusted=True, headers=headers)
    except requests.RequestException as exc:
        # A refused private address answers as a closed port or a timeout (BlockedAddressError is a
        # RequestException): this page must not tell anyone which internal hosts and ports exist.
        http.failure_log("dynamic registration: GET configuration", url, exc)
        raise RegistrationError(
            "config_unreachable",
            _("The tool could not reach your platform to read its configuration."),
            admin_hint=unreachable_hint(url),
            status=502,
        ) from exc
    if response.status_code != 200:
        raise RegistrationError(
            "config_http_error",
            _("Your platform refused to give the tool its configuration."),
            admin_hint=lazy_format(
                _(
                    "GET %(url)s answered HTTP %(status)s (the registration token may have expired: start again "
                    "from the platform)."
                )
                if response.status_code in (401, 403)
                else _("GET %(url)s answered HTTP %(status)s."),
                url=url,
                status=response.status_code,
            ),
            detail=response.text[:500],
            status=502,
        )
    return config_parse(_json(response, url), url=url)


def _json(response: requests.Response, url: str) -> dict[str, Any]:
    if len(response.content) > MAX_CONFIG_BYTES:
        raise RegistrationError(
            "config_not_json",
            _("The platform's configuration is too large to be one."),
            admin_hint=lazy_format(_("%(url)s answered %(size)s bytes."), url=url, size=len(response.content)),
            status=502,
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise RegistrationError(
            "config_not_json",
            _("The platform's configuration address did not answer with a configuration."),
            admin_hint=lazy_format(
                _("%(url)s answered %(content_type)s, not JSON: is this the OpenID configuration URL?"),
                url=url,
                content_type=repr(response.headers.get("Content-Type", "no content type")),
            ),
            detail=response.text[:300],
            status=502,
        ) from exc
    if not isinstance(data, dict):
        raise RegistrationError(
            "config_not_json",
            _("The platform's configuration is not a JSON object."),
            admin_hint=lazy_format(_("%(url)s answered JSON that is not an object."), url=url),
            status=502,
        )
    return data


def _messages(platform: dict[str, Any]) -> dict[str, set[str]]:
    shared = {str(p) for p in platform.get("placements") or [] if isinstance(p, str)}
    found: dict[str, set[str]] = {}
    for message in platform.get("messages_supported") or []:
        if isinstance(message, str):  # Moodle: plain strings
            found[message] = set(shared)
        elif isinstance(message, dict) and isinstance(message.get("type"), str):  # Canvas and the spec: objects
            found[message["type"]] = {str(p) for p in message.get("placements") or []} | shared
    return found


def config_parse(data: dict[str, Any], *, url: str) -> PlatformConfig:
    """Check the fields the tool relies on (DR §3.4) and the issuer/URL match (DR §3.5.1)."""
    platform = data.get(PLATFORM_CONFIGURATION)
    missing = [name for name in ("issuer", *ENDPOINTS) if not isinstance(data.get(name), str) or not data[name]]
    if not isinstance(platform, dict):
        missing.append(PLATFORM_CONFIGURATION)
    if missing:
        raise RegistrationError(
            "config_incomplete",
            _("The platform's configuration is missing information the tool needs."),
            admin_hint=lazy_format(
                _("The OpenID configuration at %(url)s lacks: %(missing)s."), url=url, missing=", ".join(missing)
            ),
            status=502,
        )
    assert isinstance(platform, dict)
    issuer = data["issuer"]
    check_url(issuer, what="issuer", code="config_issuer_insecure")
    if _origin(issuer) != _origin(url):
        raise RegistrationError(
            "config_issuer_mismatch",
            _("The platform's configuration names a different site than the one it came from."),
            admin_hint=lazy_format(
                _(
                    "The issuer %(issuer)s is not on the configuration URL's origin (%(url)s); LTI Dynamic "
                    "Registration requires them to match."
                ),
                issuer=repr(issuer),
                url=repr(url),
            ),
        )
    for name in ENDPOINTS:
        check_url(data[name], what=name.replace("_", " "), code="config_endpoint_insecure")
    methods = data.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and "private_key_jwt" not in methods:
        raise RegistrationError(
            "config_unsupported",
            _("The platform does not support the way this tool signs in to its services."),
            admin_hint=lazy_format(
                _("token_endpoint_auth_methods_supported is %(methods)s; the tool needs private_key_jwt."),
                methods=repr(methods),
            ),
        )
    code = str(platform.get("product_family_code") or "").lower()
    scopes = data.get("scopes_supported")
    return PlatformConfig(
        url=url,
        issuer=issuer,
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=data["registration_endpoint"],
        family=code if code in {Family.CANVAS, Family.MOODLE} else Family.OTHER,
        product_family_code=code,
        version=str(platform.get("version") or ""),
        account_name=str(platform.get(CANVAS_ACCOUNT_NAME) or ""),
        scopes_supported=[str(s) for s in scopes] if isinstance(scopes, list) else None,
        messages_supported=_messages(platform),
    )
