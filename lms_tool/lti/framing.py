"""Who may frame the tool's pages: CSP ``frame-ancestors`` on every response (docs/security.md, "Framing").

- Pages served under a live launch: ``'self'`` and the frame origins of the launch's registration
  (``Registration.frame_origins``: set by the admin, learned from launches, kept with the launch).
- The OIDC login and launch steps, which run before the tool knows who frames it: anyone (``*``).
  They carry no authority of their own (state, nonce and the platform's signature protect them) and
  nothing on them acts on a click; narrowing them would break the first launch from a school whose
  frame origin is not its issuer (Canvas: issuer canvas.instructure.com, framed by school.instructure.com).
- Dynamic registration (``/lti/register/``, opened by Moodle and Canvas in an iframe): the origin of
  the ``openid_configuration`` URL it was opened with, the platform that asked (DR §3.3).
- A tool page refused for want of a live launch (401, "open the tool again from your course"): anyone,
  so the person sees why inside their course; the page has nothing to click.
- Everything else (admin, API, API docs, staff pages, home): nobody, ``'none'`` and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from lms_tool.core import http
from lms_tool.core.errors import lazy_format

from . import claims as c

NOBODY = "'none'"
SELF = "'self'"
ANYONE = "*"
CSP = "Content-Security-Policy"

# URL names of the steps before a launch exists, of dynamic registration, and the apps whose pages run
# under a launch (by namespace: a page added to these apps is framed like its neighbours; one elsewhere never).
PRE_LAUNCH = frozenset({"lti:login", "lti:launch", "lti:launch_complete"})
REGISTRATION = frozenset({"lti:register", "lti:register_invited"})  # with or without an invitation
LAUNCH_APPS = frozenset({"lti", "quizzes", "flashcards", "roster", "grading"})
NEVER_FRAMED = frozenset({"lti:config", "lti:config_moodle", "lti:canvas_json", "lti:jwks"})
# The origins a registration may hold: enough for a platform and its vanity domains, not a way to grow rows.
MAX_FRAME_ORIGINS = 20

_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$|^\[[0-9a-f:.]+\]$")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _origin(url: str, *, strict: bool) -> str:
    """``scheme://host[:port]`` of ``url``; ValueError (an admin-readable message) when it has none."""
    return _origin_parsed(str(url), strict, bool(settings.LTI_DEV_ALLOW_HTTP))


# Every launch and page parses the same few URLs (issuer, login URL, return and service URLs, the registration's
# stored origins): the answer depends only on the arguments, so each process keeps the last ones it parsed.
# A refusal (ValueError) is not kept: it is raised again on every call.
@functools.lru_cache(maxsize=2048)
def _origin_parsed(url: str, strict: bool, allow_http: bool) -> str:
    try:
        parsed = http.parse_url(str(url).strip())
    except http.AmbiguousUrlError as exc:
        raise ValueError(
            lazy_format(_("%(url)s is not a web origin like https://school.instructure.com."), url=repr(url))
        ) from exc
    host = (parsed.host or "").lower()
    if not _HOST.match(host):
        raise ValueError(lazy_format(_("%(url)s does not have a valid host name."), url=repr(url)))
    if strict and (parsed.path not in (None, "", "/") or parsed.query is not None or parsed.fragment is not None):
        raise ValueError(
            lazy_format(
                _("%(url)s is a URL, not an origin: give only scheme://host[:port], with no path."), url=repr(url)
            )
        )
    # Plain HTTP framing is only for loopback (the sandbox, tests) or development: on a network, any
    # machine on the path could inject a page into it.
    if parsed.scheme == "http" and not (_loopback(host) or allow_http):
        raise ValueError(
            lazy_format(
                _("%(url)s does not use HTTPS (plain HTTP is accepted only with LTI_DEV_ALLOW_HTTP=1)."), url=repr(url)
            )
        )
    port = parsed.port
    scheme = str(parsed.scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def origin_clean(value: str) -> str:
    """An origin an admin typed, normalised (lowercase host, no default port); ValueError says what is wrong."""
    return _origin(value, strict=True)


def origin_of(url: str) -> str | None:
    """The origin of an http(s) URL, or None."""
    try:
        return _origin(url, strict=False) if url else None
    except ValueError:
        return None


def origins_valid(values: Iterable[Any] | None) -> list[str]:
    """The valid origins among ``values``, normalised, in order, once each (stored lists stay safe in headers)."""
    seen: list[str] = []
    for value in values if isinstance(values, list | tuple) else []:
        try:
            origin = origin_clean(value) if isinstance(value, str) else None
        except ValueError:
            origin = None
        if origin and origin not in seen:
            seen.append(origin)
    return seen


def _claim_url(claims: dict[str, Any], claim: str, key: str) -> str:
    value = claims.get(claim)
    return str(value.get(key) or "") if isinstance(value, dict) else ""


def origins_attested(*, claims: dict[str, Any], issuer: str, login_url: str, posted_from: str) -> list[str]:
    """The frame origins a validated launch vouches for.

    The page the platform frames the tool in is where it sends people back: ``launch_presentation.return_url``
    (LTI core §5.4.1) and, for deep linking, ``deep_link_return_url`` (DL §4.4.1), signed by the platform. The
    Origin (or Referer) of the launch POST counts too, but only when it is one of the platform's own origins
    (issuer, login URL, a signed return or service URL): anyone holding a valid id_token of their own could
    post it from a page of their choosing."""
    signed = [
        _claim_url(claims, c.LAUNCH_PRESENTATION, "return_url"),
        _claim_url(claims, c.DL_SETTINGS, "deep_link_return_url"),
    ]
    services = [
        _claim_url(claims, c.NRPS, "context_memberships_url"),
        _claim_url(claims, c.AGS_ENDPOINT, "lineitems"),
        _claim_url(claims, c.AGS_ENDPOINT, "lineitem"),
    ]
    learned = [o for o in map(origin_of, signed) if o]
    posted = origin_of(posted_from)
    platform = {origin_of(url) for url in [*signed, *services, issuer, login_url]} - {None}
    if posted and posted in platform:
        learned.append(posted)
    return list(dict.fromkeys(learned))


def posted_from(request: HttpRequest) -> str:
    """Where the browser says a POST came from: its Origin, else its Referer ("" when neither is sent)."""
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        return origin
    return request.headers.get("Referer", "")


def _registration_origin(request: HttpRequest) -> str | None:
    """The platform that opened dynamic registration: the origin of its OpenID configuration URL, from the
    query (the first page) or from the pending registration the confirmation form names (read before the
    view consumes it)."""
    if request.method == "GET":
        return origin_of(request.GET.get("openid_configuration", ""))
    from .dynamic_registration import PENDING_PREFIX

    pending = request.POST.get("pending", "")
    stored = cache.get(PENDING_PREFIX + pending) if pending and len(pending) < 100 else None
    config = stored.get("config") if isinstance(stored, dict) else None
    return origin_of(str(config.get("url") or "")) if isinstance(config, dict) else None


def frame_ancestors(request: HttpRequest, response: HttpResponse) -> list[str]:
    """The sources of the response's ``frame-ancestors`` directive (see the module's docstring)."""
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match else ""
    if name in PRE_LAUNCH:
        return [ANYONE]
    if name in REGISTRATION:
        origin = getattr(request, "lti_registration_origin", None)
        return [SELF, origin] if origin else [SELF]
    if name.partition(":")[0] not in LAUNCH_APPS or name in NEVER_FRAMED:
        return [NOBODY]
    if getattr(request, "lti_launch", None) is not None:
        return [SELF, *origins_valid(getattr(request, "lti_frame_origins", []))]
    if response.status_code == 401:
        return [ANYONE]
    return [NOBODY]


def frame_policy_apply(response: HttpResponse, sources: list[str]) -> None:
    """Set ``frame-ancestors`` (keeping any other CSP directive) and X-Frame-Options: DENY when nobody may frame."""
    kept = [
        d.strip() for d in response.get(CSP, "").split(";") if d.strip() and not d.strip().startswith("frame-ancestors")
    ]
    response[CSP] = "; ".join([*kept, "frame-ancestors " + " ".join(sources)])
    if sources == [NOBODY]:
        response["X-Frame-Options"] = "DENY"
    elif "X-Frame-Options" in response:
        del response["X-Frame-Options"]


class FramingMiddleware:
    """Puts the framing policy on every response (Django's XFrameOptionsMiddleware cannot express a list)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        frame_policy_apply(response, frame_ancestors(request, response))
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        if request.resolver_match and request.resolver_match.view_name in REGISTRATION:
            request.lti_registration_origin = _registration_origin(request)  # type: ignore[attr-defined]
