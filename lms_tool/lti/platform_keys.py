"""Platforms' public keys: fetched from their JWKS URL, shared through the cache, refetched on a new kid.

Fixes docs/platforms.md, pylti1p3 defects 3 and 4: pylti1p3 fetches the JWKS on every launch unless told to
cache, and with caching on it never refetches, so a platform key rotation breaks launches until
the cache expires. Here the JWKS lives in the shared cache (one fetch for all processes), the
parsed key objects are remembered per process, and an unknown ``kid`` triggers one refetch,
at most once per ``REFETCH_INTERVAL`` per URL so a stream of forged kids cannot hammer a platform.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from lms_tool.core import http
from lms_tool.core.errors import english, lazy_format

from .errors import LaunchError

logger = logging.getLogger(__name__)

REFETCH_INTERVAL = 10
# After a failed fetch, launches are refused at once for this long instead of each one waiting on
# the platform again: a platform whose JWKS hangs must not tie up every worker of the tool.
FAILURE_BACKOFF_SECONDS = 5
_memo: dict[tuple[str, str], tuple[rsa.RSAPublicKey, float]] = {}
_memo_lock = threading.Lock()
# Counts HTTP fetches, so the benchmark can show steady-state launches fetch nothing.
fetch_count = 0


def cache_key(url: str) -> str:
    """The shared-cache name of the JWKS fetched from ``url`` (hashed: a URL can be longer than a key)."""
    return "lti:jwks:" + hashlib.sha256(url.encode()).hexdigest()


def _int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _load(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()


def _unavailable(url: str, why: StrOrPromise) -> LaunchError:
    # ``why`` completes the sentence "The platform's JWKS URL … " ("answered HTTP 500").
    return LaunchError(
        "platform_jwks_unavailable",
        _("The tool could not check the launch because your learning platform's keys could not be read."),
        admin_hint=lazy_format(
            _("The platform's JWKS URL %(url)s %(why)s. Check the registration's JWKS URL and the platform's status."),
            url=url,
            why=why,
        ),
        detail=english(why),
        status=502,
    )


def fetch(url: str) -> dict[str, Any]:
    """GET the JWKS and store it in the shared cache; a failure is remembered for a few seconds."""
    failed = cache.get(cache_key(url) + ":failed")
    if failed is not None:
        raise _unavailable(
            url,
            lazy_format(
                _("failed moments ago (%(failure)s; tried again after %(seconds)s s)"),
                failure=failed,
                seconds=FAILURE_BACKOFF_SECONDS,
            ),
        )
    try:
        return _fetch(url)
    except LaunchError as error:
        cache.set(cache_key(url) + ":failed", error.detail, FAILURE_BACKOFF_SECONDS)
        raise


def _fetch(url: str) -> dict[str, Any]:
    global fetch_count
    fetch_count += 1
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise _unavailable(
            url, lazy_format(_("could not be reached (%(error)s)"), error=exc.__class__.__name__)
        ) from exc
    if response.status_code != 200:
        raise _unavailable(url, lazy_format(_("answered HTTP %(status)s"), status=response.status_code))
    try:
        jwks = response.json()
    except ValueError as exc:
        raise _unavailable(url, _("did not answer JSON")) from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise _unavailable(url, _("answered JSON without a 'keys' list"))
    cache.set(cache_key(url), jwks, settings.LTI["JWKS_CACHE_SECONDS"])
    return jwks


def _find(jwks: dict[str, Any], kid: str, url: str) -> rsa.RSAPublicKey | None:
    for jwk in jwks.get("keys", []):
        if isinstance(jwk, dict) and jwk.get("kid") == kid and jwk.get("kty") == "RSA":
            try:
                key = _load(jwk)
            except (KeyError, TypeError, ValueError) as exc:
                raise _unavailable(url, lazy_format(_("has a malformed key %(kid)s"), kid=repr(kid))) from exc
            with _memo_lock:
                _memo[(url, kid)] = (key, time.monotonic() + settings.LTI["JWKS_CACHE_SECONDS"])
            return key
    return None


FETCHING, FETCHED = "fetching", "fetched"


def _wait_for_refetch(url: str, marker: str) -> dict[str, Any]:
    """The JWKS another request is fetching right now (a rotation reaches every worker at once)."""
    deadline = time.monotonic() + settings.HTTP_TIMEOUT_SECONDS + 1
    while cache.get(marker) == FETCHING and time.monotonic() < deadline:
        time.sleep(0.05)
    return cache.get(cache_key(url)) or {}


def public_key(url: str, kid: str | None) -> rsa.RSAPublicKey:
    """The platform key ``kid`` from the JWKS at ``url``."""
    if not kid or not isinstance(kid, str):
        raise LaunchError(
            "token_no_kid",
            _("The launch message does not say which key signed it."),
            admin_hint=_("The platform must put a 'kid' in the id_token header."),
            status=401,
        )
    memo = _memo.get((url, kid))
    if memo is not None and memo[1] > time.monotonic():
        return memo[0]
    jwks = cache.get(cache_key(url))
    if jwks is not None:
        key = _find(jwks, kid, url)
        if key is not None:
            return key
    # Unknown kid (or nothing cached): fetch once, unless another request just did or is doing so.
    marker = cache_key(url) + ":refetch"
    if jwks is None:
        logger.info("fetching platform JWKS %s for kid %s", url, kid)
        key = _find(fetch(url), kid, url)
    elif cache.add(marker, FETCHING, REFETCH_INTERVAL):
        logger.info("refetching platform JWKS %s for unknown kid %s", url, kid)
        try:
            key = _find(fetch(url), kid, url)
        finally:
            cache.set(marker, FETCHED, REFETCH_INTERVAL)
    else:
        key = _find(_wait_for_refetch(url, marker), kid, url)
    if key is not None:
        return key
    raise LaunchError(
        "token_unknown_kid",
        _("The launch message is signed with a key your learning platform does not publish."),
        admin_hint=lazy_format(
            _("No key with kid %(kid)s is in the platform's JWKS at %(url)s, even after refetching it."),
            kid=repr(kid),
            url=url,
        ),
        status=401,
    )


def forget() -> None:
    """Drop this process's parsed keys (tests, admin actions)."""
    with _memo_lock:
        _memo.clear()
