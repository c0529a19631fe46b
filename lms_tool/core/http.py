"""The one outbound HTTP client: timeouts, User-Agent, connection reuse, private-address blocking.

Every call to another system goes through here, so security rules live once and tests have one
seam. Platform URLs an admin registered are trusted; URLs that arrive from outside (dynamic
registration, webhook subscriptions) pass ``untrusted=True`` and are refused when they point at a
private, loopback or link-local address, unless the host is in ``HTTP_ALLOWED_PRIVATE_HOSTS``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any
from urllib.parse import urlparse

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import LocationParseError
from urllib3.util import Url
from urllib3.util import parse_url as parse_url_urllib3

_local = threading.local()


class BlockedAddressError(requests.exceptions.RequestException):
    """The URL resolves to an address the tool refuses to call."""


class AmbiguousUrlError(BlockedAddressError):
    """The URL could be read two ways (userinfo, backslashes, control characters): refused outright."""


# Characters that make parsers disagree about where the host ends (``https://a\\@b/``), or that
# no honest URL carries.
_AMBIGUOUS = set("\\@") | {chr(c) for c in range(0x21)} | {"\x7f"}


def parse_url(url: str) -> Url:
    """The one parser for every URL the tool checks and then calls: urllib3's, which sends the request.

    Refuses userinfo (``user@host``), backslashes, whitespace and control characters anywhere, a
    scheme other than http(s) and a missing host, so the host a check reads is the host connected to.
    """
    if not isinstance(url, str) or not url or any(ch in _AMBIGUOUS for ch in url.split("?", 1)[0].split("#", 1)[0]):
        raise AmbiguousUrlError(f"refused an ambiguous URL (userinfo, backslash or control characters): {url!r}")
    if any(ch in url for ch in " \t\r\n\x00\\"):
        raise AmbiguousUrlError(f"refused a URL with whitespace or backslashes: {url!r}")
    try:
        parsed = parse_url_urllib3(url)
    except LocationParseError as exc:
        raise AmbiguousUrlError(f"not a URL: {url!r}") from exc
    if parsed.scheme not in {"http", "https"} or not parsed.host or parsed.auth:
        raise AmbiguousUrlError(f"not an http(s) URL with a host: {url!r}")
    return parsed


def session() -> requests.Session:
    """A per-thread session, so connections to a platform are reused across calls."""
    sess = getattr(_local, "session", None)
    if sess is None:
        sess = requests.Session()
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        sess.mount("http://", adapter)
        sess.mount("https://", adapter)
        sess.headers["User-Agent"] = settings.HTTP_USER_AGENT
        _local.session = sess
    return sess


def check_public_url(url: str) -> None:
    """Raise ``BlockedAddressError`` unless every address of the URL's host is public."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise BlockedAddressError(f"not an http(s) URL: {url}")
    host = parsed.hostname
    if host in settings.HTTP_ALLOWED_PRIVATE_HOSTS:
        return
    try:
        infos = socket.getaddrinfo(host, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise BlockedAddressError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise BlockedAddressError(f"{host} resolves to non-public address {address}")


def request(
    method: str, url: str, *, untrusted: bool = False, timeout: float | None = None, **kwargs: Any
) -> requests.Response:
    """Send one request; raises ``requests`` exceptions on network failures, never on HTTP status."""
    if untrusted:
        check_public_url(url)
    return session().request(
        method, url, timeout=timeout or settings.HTTP_TIMEOUT_SECONDS, allow_redirects=not untrusted, **kwargs
    )


def get(url: str, **kwargs: Any) -> requests.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    return request("POST", url, **kwargs)
