"""The one outbound HTTP client: timeouts, User-Agent, connection reuse, private-address blocking.

Every call to another system goes through here, so security rules live once and tests have one
seam. Every call is checked, whoever supplied the URL: an admin-registered platform's URLs, but
also JWKS and token URLs learned by dynamic registration, AGS/NRPS endpoints read from launch
claims (anyone who controls a second platform can sign any claim) and webhook subscription URLs.

How a call is checked:

* ``parse_url`` (urllib3's parser, which sends the request) refuses userinfo, backslashes and
  control characters, so the host a check reads is the host connected to;
* the connection resolves the host ONCE, refuses it when any address is not public
  (``address_is_public``), and connects to one of the checked addresses itself, while TLS keeps
  the hostname for SNI and certificate verification and the Host header keeps the name: a second
  DNS answer (rebinding) is never asked for;
* redirects are followed by ``requests`` through the same connection class, so each hop is
  resolved and checked again; their targets must parse unambiguously, never downgrade https to
  http, and there are at most ``MAX_REDIRECTS`` of them. ``untrusted=True`` (dynamic registration,
  webhook deliveries, whose protocols never redirect) does not follow redirects at all;
* proxies and ``.netrc`` from the environment are ignored (``trust_env = False``): through a proxy
  the check would see the proxy's address, not the one finally reached.

Hosts in ``settings.HTTP_ALLOWED_PRIVATE_HOSTS`` (development and tests: ``127.0.0.1``,
``localhost``; a platform on an intranet in production) skip the address check.

A person shown a failure of a checked call sees ``UNREACHABLE`` whatever happened (blocked address,
refused, closed port, timeout), so error pages cannot be used to map an internal network; the
detail goes to the log.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from http.client import HTTPException
from typing import Any, NamedTuple
from urllib.parse import urljoin

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util import Timeout, Url
from urllib3.util import parse_url as parse_url_urllib3
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

logger = logging.getLogger(__name__)
_local = threading.local()

# What a person is shown when a checked call fails, whatever the reason (the log has the reason).
UNREACHABLE = "could not reach the address; it must be a public https URL"
MAX_REDIRECTS = 5


class BlockedAddressError(requests.exceptions.RequestException):
    """The URL resolves to an address the tool refuses to call."""


class AmbiguousUrlError(BlockedAddressError):
    """The URL could be read two ways (userinfo, backslashes, control characters): refused outright."""


class _Refused(Exception):
    """Raised inside urllib3's connection code. Deliberately not an ``OSError``: urllib3 and requests
    would wrap one into a ``ConnectionError`` (and could retry); this passes through them untouched
    and ``_CheckedAdapter.send`` turns it into ``BlockedAddressError``."""


# Characters that make parsers disagree about where the host ends (``https://a\\@b/``), or that
# no honest URL carries.
_AMBIGUOUS = set("\\@") | {chr(c) for c in range(0x21)} | {"\x7f"}


@functools.lru_cache(maxsize=1024)  # a pure function of the string; a refusal raises, and is not kept
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


# Addresses --------------------------------------------------------------------------------------
# Python 3.11's ``is_global`` misses several of these (multicast, site-local, 192.0.0.0/24, NAT64),
# so the ranges are listed (IANA special-purpose registries, RFC 6890 and its updates).
_V4_NOT_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated, RFC 7526)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255
    )
]
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_NOT_PUBLIC = [
    ipaddress.IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments, with Teredo 2001::/32 (its client address is obfuscated)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056: bits 16-48 are the IPv4 address


def address_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the tool may connect to this address: a public unicast one that routes nowhere private.

    IPv6 forms that embed or route to an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible
    ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by that IPv4 address;
    the local-use NAT64 prefix ``64:ff9b:1::/48`` and Teredo are never public.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        if address.ipv4_mapped is not None:
            return address_is_public(address.ipv4_mapped)
        if address in _NAT64:
            return address_is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in _SIX_TO_FOUR:
            return address.sixtofour is not None and address_is_public(address.sixtofour)
        # Everything else outside global unicast: IPv4-compatible ::a.b.c.d, ::, ::1, 64:ff9b:1::/48,
        # unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10, multicast ff00::/8.
        if address not in _V6_GLOBAL_UNICAST or any(address in net for net in _V6_NOT_PUBLIC):
            return False
        return address.is_global
    if any(address in net for net in _V4_NOT_PUBLIC):
        return False
    return address.is_global


def _host_allowed(host: str) -> bool:
    wanted = host.strip("[]").rstrip(".").lower()
    return wanted in {h.strip("[]").rstrip(".").lower() for h in settings.HTTP_ALLOWED_PRIVATE_HOSTS}


def _resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """Resolve once; refuse the host when ANY of its addresses is not public (an attacker's DNS can
    mix a public address with a private one and let the connection pick)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, allowed_gai_family(), socket.SOCK_STREAM)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address_is_public(address):
            raise _Refused(f"{host} resolves to non-public address {address}")
    return infos


def check_public_url(url: str) -> None:
    """Raise ``BlockedAddressError`` unless the URL parses unambiguously and every address of its host
    is public. A pre-flight for clear errors at creation time (webhook subscriptions); the connection
    checks again on the address it actually connects to."""
    parsed = parse_url(url)
    host = parsed.host or ""
    if _host_allowed(host):
        return
    try:
        _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise BlockedAddressError(f"cannot resolve {host}: {exc}") from exc
    except _Refused as exc:
        raise BlockedAddressError(str(exc)) from None


# Connections ------------------------------------------------------------------------------------
class _CheckedConnectionMixin:
    """urllib3's ``_new_conn`` with the address check between resolving and connecting."""

    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        if _host_allowed(self.host):
            return super()._new_conn()  # type: ignore[misc, no-any-return]
        try:
            infos = _resolve(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: OSError | None = None
        for family, socktype, proto, _canonname, sockaddr in infos:
            sock = socket.socket(family, socktype, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(sockaddr)  # the checked address, not a second lookup of the name
            except OSError as exc:  # as urllib3 does: try the host's next address
                sock.close()
                error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})")
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    # HTTPSConnection.connect wraps the socket with server_hostname=self.host: SNI and certificate
    # verification stay on the name while the socket goes to the checked address.
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise BlockedAddressError("outbound calls do not go through proxies: the address check would see the proxy")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().send(request, *args, **kwargs)
        except _Refused as exc:
            raise BlockedAddressError(str(exc), request=request) from None


class _CheckedSession(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """Every hop must parse as unambiguously as the first URL and never leave https."""
        location = super().get_redirect_target(resp)
        if location is None:
            return None
        target = urljoin(resp.url, location)
        try:
            parsed = parse_url(target)
            if resp.url.startswith("https:") and parsed.scheme != "https":
                raise BlockedAddressError(f"refused a redirect from https to {target!r}")
        except BlockedAddressError:
            resp.close()
            raise
        return location


def session() -> requests.Session:
    """A per-thread session, so connections to a platform are reused across calls."""
    sess = getattr(_local, "session", None)
    if sess is None:
        sess = _CheckedSession()
        sess.trust_env = False  # no proxy or .netrc from the environment (see the module docstring)
        sess.max_redirects = MAX_REDIRECTS
        adapter = _CheckedAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        sess.mount("http://", adapter)
        sess.mount("https://", adapter)
        sess.headers["User-Agent"] = settings.HTTP_USER_AGENT
        _local.session = sess
    return sess


def request(
    method: str, url: str, *, untrusted: bool = False, timeout: float | None = None, **kwargs: Any
) -> requests.Response:
    """Send one checked request; raises ``requests`` exceptions on network failures (``BlockedAddressError``
    for a refused URL or address), never on HTTP status.

    Every call is checked; ``untrusted=True`` only means the protocol never redirects, so a 3xx is
    returned as it is instead of followed.
    """
    parse_url(url)
    kwargs.setdefault("allow_redirects", not untrusted)
    return session().request(method, url, timeout=timeout or settings.HTTP_TIMEOUT_SECONDS, **kwargs)


def send_lean(
    method: str,
    url: str,
    *,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float | None = None,
    untrusted: bool = False,
) -> requests.Response:
    """``request(method, url, data=body, headers=headers, untrusted=untrusted, timeout=timeout)`` for a call
    repeated per item (a score post, a webhook delivery), without ``requests``' per-call work (merging the
    session's settings, cookies, hooks): the same per-thread session's connection pool, so the same checked
    connection class (the address check) and kept connections, the session's headers. A redirect is not followed
    here: ``untrusted``, it is answered as it is; else the call is sent again through ``request``, which follows
    and checks every hop (the services sent this way take a repeated request: a score carries its own
    timestamp). Raises as ``request`` does."""
    target = parse_url(url)
    sess = session()
    adapter = sess.get_adapter(url)
    assert isinstance(adapter, _CheckedAdapter)
    pool = _pool_for(sess, adapter, url, target)
    seconds = timeout or settings.HTTP_TIMEOUT_SECONDS
    sent: dict[str, Any] = {**sess.headers, **headers}
    try:
        answer = pool.urlopen(
            method,
            target.request_uri,
            body=body,
            headers=sent,
            redirect=False,
            assert_same_host=False,
            retries=adapter.max_retries,
            timeout=Timeout(connect=seconds, read=seconds),
            preload_content=True,
            decode_content=True,
        )
    except MaxRetryError as exc:  # what urllib3 raises with retries off, around the failure itself
        raise _failure(exc.reason or exc) from exc
    except (_Refused, HTTPError, OSError) as exc:
        raise _failure(exc) from exc
    if not untrusted and 300 <= answer.status < 400 and answer.get_redirect_location():
        return request(method, url, data=body, headers=headers, timeout=timeout)
    return _response(answer, url)


def _failure(exc: BaseException) -> requests.RequestException:
    """What ``request`` raises for a failure met below ``requests`` (urllib3, the socket, the address check)."""
    if isinstance(exc, _Refused):
        return BlockedAddressError(str(exc))
    if isinstance(exc, ConnectTimeoutError):
        return requests.exceptions.ConnectTimeout(exc)
    if isinstance(exc, ReadTimeoutError | TimeoutError):
        return requests.exceptions.ReadTimeout(exc)
    return requests.exceptions.ConnectionError(exc)


def _response(answer: Any, url: str) -> requests.Response:
    """A ``requests.Response`` of urllib3's answer, its body read."""
    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(answer.headers)
    response._content = answer.data
    response.encoding = get_encoding_from_headers(response.headers)
    response.reason = answer.reason or ""
    response.url = url
    response.raw = answer
    return response


def send_window(
    method: str,
    calls: Iterable[tuple[str, bytes | None, dict[str, str]]],
    *,
    in_flight: int,
    go_on: Callable[[], bool] = lambda: True,
) -> Iterator[requests.Response | requests.RequestException]:
    """``send_lean(method, url, body=body, headers=headers)`` for each of ``calls`` (url, body, headers), from this
    one thread, with up to ``in_flight`` of them sent at once: each is written to its own kept connection of the
    same checked pools (the address check, the timeout, the session's headers), the answers are read in the order
    of ``calls``, and as soon as one is read the next call is written to the connection it freed. The platform
    works on several calls at once without a thread per call.

    Yields each call's answer, or in its place the ``requests`` exception ``request`` would have raised for it. A
    redirect is sent again through ``request``, which follows and checks each hop. ``go_on`` is asked before each
    call is written: once it says no, no call starts, those already sent are read to their answers, and the
    iteration ends; after an answer that says the server is in trouble (a failure, 5xx, 429) no call is written
    before the caller has seen it. Closing the iterator early closes the connections whose answers were not
    read."""
    sess = session()
    seconds = settings.HTTP_TIMEOUT_SECONDS
    waiting: deque[_Sent] = deque()
    pending = iter(calls)
    more = True

    def fill() -> None:
        nonlocal more
        while more and len(waiting) < max(1, in_flight):
            call = next(pending, None) if go_on() else None
            if call is None:
                more = False
            else:
                waiting.append(_window_write(sess, method, *call, seconds=seconds))

    try:
        fill()
        while waiting:
            answer = _window_read(method, waiting.popleft())
            if isinstance(answer, requests.Response) and answer.status_code < 500 and answer.status_code != 429:
                fill()  # the next call goes out before the caller handles this answer (its work overlaps the calls)
            yield answer
            fill()  # after a failure, only once the caller has seen it (and go_on can say no)
    finally:
        for sent in waiting:  # answers never read: their connections cannot be used again
            if sent.connection is not None:
                sent.connection.close()
                sent.pool._put_conn(None)


class _Sent(NamedTuple):
    url: str
    body: bytes | None
    headers: dict[str, str]
    pool: Any
    connection: Any  # None when writing failed
    failure: requests.RequestException | None


def _window_write(
    sess: requests.Session, method: str, url: str, body: bytes | None, headers: dict[str, str], *, seconds: float
) -> _Sent:
    """Write one call to a connection of its pool (a kept one, a dropped one replaced, or a new checked one)."""
    pool: Any = None
    connection: Any = None
    try:
        target = parse_url(url)
        adapter = sess.get_adapter(url)
        assert isinstance(adapter, _CheckedAdapter)
        pool = _pool_for(sess, adapter, url, target)
        connection = pool._get_conn()
        connection.timeout = seconds  # connecting, if it must; then each read, below
        connection.request(method, target.request_uri, body=body, headers={**sess.headers, **headers})
        if connection.sock is not None:
            connection.sock.settimeout(seconds)
    except (_Refused, HTTPError, OSError, HTTPException, requests.RequestException) as exc:
        if connection is not None:
            connection.close()
            pool._put_conn(None)
        failure = exc if isinstance(exc, requests.RequestException) else _failure(exc)  # an ambiguous URL as it is
        return _Sent(url, body, headers, pool, None, failure)
    return _Sent(url, body, headers, pool, connection, None)


def _window_read(method: str, sent: _Sent) -> requests.Response | requests.RequestException:
    """Read the answer to a written call and give its connection back to the pool (closed if the answer says so)."""
    if sent.failure is not None:
        return sent.failure
    try:
        answer = sent.connection.getresponse()
        answer.data  # noqa: B018 -- the whole body, so the connection is free again
    except (HTTPError, OSError, HTTPException) as exc:
        sent.connection.close()
        sent.pool._put_conn(None)
        return _failure(exc)
    sent.pool._put_conn(sent.connection)
    if 300 <= answer.status < 400 and answer.get_redirect_location():
        try:
            return request(method, sent.url, data=sent.body, headers=sent.headers)
        except requests.RequestException as exc:
            return exc
    return _response(answer, sent.url)


def _pool_for(sess: requests.Session, adapter: _CheckedAdapter, url: str, target: Url) -> HTTPConnectionPool:
    """The connection pool exactly as requests picks it for this URL (TLS verification on, its CA bundle): the same
    pool, so the same kept connections, as calls through ``request``. Kept per thread and origin while the session's
    pool manager keeps it open (it closes the least recently used beyond ``pool_connections``): a score post to
    the same platform skips looking it up again."""
    pools: dict[tuple[Any, ...], HTTPConnectionPool] = sess.__dict__.setdefault("_lean_pools", {})
    origin = (target.scheme, target.host, target.port)
    pool = pools.get(origin)
    if pool is not None and pool.pool is not None:  # ``pool`` is None once the manager closed it
        return pool
    key = requests.PreparedRequest()
    key.url = url
    host, pool_kwargs = adapter.build_connection_pool_key_attributes(key, True, None)
    pool = adapter.poolmanager.connection_from_host(**host, pool_kwargs=pool_kwargs)
    adapter.cert_verify(pool, url, True, None)
    if len(pools) >= 64:
        pools.clear()
    pools[origin] = pool
    return pool


def get(url: str, **kwargs: Any) -> requests.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    return request("POST", url, **kwargs)


def failure_log(what: str, url: str, exc: BaseException) -> None:
    """Log why a checked call failed (the person is shown only ``UNREACHABLE``). The URL's query is
    left out: it may carry tokens."""
    logger.warning("%s %s failed: %s: %s", what, url.split("?", 1)[0], type(exc).__name__, exc)
