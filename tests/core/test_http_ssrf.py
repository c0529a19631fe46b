"""core.http against the SSRF attacks that were tried end to end: each test is one attack.

Listeners on 127.0.0.1 record every TCP connection they accept, so "refused" means nothing connected,
not merely that an exception was raised afterwards. Loopback is allow-listed for the test suite
(tests/conftest.py); a test that needs loopback treated as the private address it is empties or
narrows ``HTTP_ALLOWED_PRIVATE_HOSTS``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from lms_tool.core import http
from lms_tool.sandbox.ui import tool_problem


class Listener:
    """A TCP listener that counts connections and answers each with ``answer`` (raw HTTP)."""

    def __init__(self, answer: bytes = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"):
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(65536))
                    conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def target() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _redirect_to(location: str) -> bytes:
    return f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


def _closed_port() -> int:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# 1. Parser confusion: the check read one host, urllib3 connected to another ----------------------
@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}\\@platform.example/.well-known/openid-configuration",  # the reported attack
        "http://127.0.0.1:{port}\\\\@platform.example/",
        "http://user@127.0.0.1:{port}/",
        "http://user:secret@127.0.0.1:{port}/",
        "http://platform.example@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}/x\\@platform.example/",
        "http://127.0.0.1:{port}\t/",
        "http://127.0.0.1:{port}\r\nX-Injected: 1/",
        " http://127.0.0.1:{port}/",
    ],
)
def test_it_refuses_an_ambiguous_url_before_any_connection(listener, template):  # type: ignore[no-untyped-def]
    # 127.0.0.1 is allow-listed here: only the ambiguity may stop the call.
    url = template.format(port=listener.port)
    with pytest.raises(http.AmbiguousUrlError):
        http.get(url)
    with pytest.raises(http.AmbiguousUrlError):
        http.check_public_url(url)
    assert listener.connections == 0


def test_the_listener_does_see_a_plain_allowed_call(listener):  # type: ignore[no-untyped-def]
    """The control for the test above: the same listener, an unambiguous URL, one connection."""
    assert http.get(f"http://127.0.0.1:{listener.port}/").status_code == 204
    assert listener.connections == 1


# 2. A name that resolves to a private address ------------------------------------------------------
def test_it_refuses_a_hostname_that_resolves_to_loopback_when_not_allow_listed(listener, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    for url in (f"http://localhost:{listener.port}/", f"http://127.0.0.1:{listener.port}/"):
        with pytest.raises(http.BlockedAddressError, match="non-public address"):
            http.get(url)
        with pytest.raises(http.BlockedAddressError):
            http.post(url, data=b"x")
        with pytest.raises(http.BlockedAddressError):
            http.check_public_url(url)
    assert listener.connections == 0
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    assert http.get(f"http://localhost:{listener.port}/").status_code == 204  # allow-listed by name
    assert listener.connections == 1


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "[::127.0.0.1]"],
)
def test_it_refuses_other_spellings_of_loopback(listener, settings, host):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["localhost"]  # the name, not its other spellings
    with pytest.raises(http.BlockedAddressError):
        http.get(f"http://{host}:{listener.port}/")
    assert listener.connections == 0


def test_it_refuses_cloud_metadata_and_private_ranges_without_connecting(settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[fd00::1]/"):
        with pytest.raises(http.BlockedAddressError, match="non-public address"):
            http.get(url, timeout=1)


# 3. A redirect from an allowed address to a private one --------------------------------------------
@pytest.mark.parametrize(
    "location",
    [
        "http://localhost:{port}/internal",
        "http://[::ffff:127.0.0.1]:{port}/internal",
        "http://[64:ff9b::7f00:1]:{port}/internal",
        "http://2130706433:{port}/internal",
    ],
)
def test_it_refuses_a_redirect_to_a_private_address_at_the_redirect(settings, target, location):  # type: ignore[no-untyped-def]
    # The first hop stands for a public host (allow-listed by address); the second names loopback another way.
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    redirector = Listener(_redirect_to(location.format(port=target.port)))
    try:
        with pytest.raises(http.BlockedAddressError, match="non-public address"):
            http.get(f"http://127.0.0.1:{redirector.port}/jwks")
        assert redirector.connections == 1
        assert target.connections == 0
    finally:
        redirector.close()


def test_it_refuses_an_ambiguous_redirect_target(target):  # type: ignore[no-untyped-def]
    redirector = Listener(_redirect_to(f"http://platform.example\\@127.0.0.1:{target.port}/"))
    try:
        with pytest.raises(http.AmbiguousUrlError):
            http.get(f"http://127.0.0.1:{redirector.port}/")
        assert target.connections == 0
    finally:
        redirector.close()


def test_it_follows_an_allowed_redirect_and_stops_after_a_few(target):  # type: ignore[no-untyped-def]
    """The control: a redirect between allowed addresses is followed; a loop is cut short."""
    redirector = Listener(_redirect_to(f"http://127.0.0.1:{target.port}/next"))
    loop = Listener()
    loop.answer = _redirect_to(f"http://127.0.0.1:{loop.port}/again")
    try:
        assert http.get(f"http://127.0.0.1:{redirector.port}/").status_code == 204
        assert target.connections == 1
        with pytest.raises(requests.TooManyRedirects):
            http.get(f"http://127.0.0.1:{loop.port}/")
        assert loop.connections == http.MAX_REDIRECTS + 1
    finally:
        redirector.close()
        loop.close()


def test_protocols_that_never_redirect_do_not_follow_one(target):  # type: ignore[no-untyped-def]
    redirector = Listener(_redirect_to(f"http://127.0.0.1:{target.port}/"))
    try:
        assert http.post(f"http://127.0.0.1:{redirector.port}/", untrusted=True, json={}).status_code == 302
        assert target.connections == 0
    finally:
        redirector.close()


# 4. IPv6 forms that embed or route to a private IPv4 address ---------------------------------------
PRIVATE = [
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::8.8.8.8", "IPv4-compatible (deprecated, never public)"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("64:ff9b::c0a8:101", "NAT64 of 192.168.1.1"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%1", "link-local with a zone"),
    ("fec0::1", "site-local"),
    ("fd00::1", "unique-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("100::1", "discard-only"),
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local, cloud metadata"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("192.0.0.8", "IETF protocol assignments"),
    ("192.0.2.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("224.0.0.1", "multicast"),
    ("239.1.1.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize(("address", "form"), PRIVATE)
def test_it_treats_every_form_of_a_private_address_as_private(address, form):  # type: ignore[no-untyped-def]
    assert not http.address_is_public(ipaddress.ip_address(address)), form


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_stay_public_including_nat64_of_a_public_one(address):  # type: ignore[no-untyped-def]
    assert http.address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "2001:0:4136:e378::1"]
)
def test_it_refuses_ipv6_literals_that_embed_loopback_without_connecting(settings, address):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(http.BlockedAddressError, match="non-public address"):
        http.get(f"http://[{address}]:9/", timeout=1)


# 5. Port scanning: open and closed ports must look the same -----------------------------------------
def test_an_open_and_a_closed_private_port_fail_the_same_way(listener, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    failures = []
    for port in (listener.port, _closed_port()):
        with pytest.raises(http.BlockedAddressError) as caught:
            http.get(f"http://127.0.0.1:{port}/")
        failures.append((type(caught.value), str(caught.value)))
    assert failures[0] == failures[1]
    assert listener.connections == 0


# The sandbox's own calls go through the same client -------------------------------------------------
def test_the_sandbox_health_check_goes_through_the_checked_client(listener, settings):  # type: ignore[no-untyped-def]
    tool_url = f"http://127.0.0.1:{listener.port}"
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    assert "HTTP_ALLOWED_PRIVATE_HOSTS" in (tool_problem(tool_url) or "")
    assert listener.connections == 0
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    tool_problem(tool_url)
    assert listener.connections == 1


# 6. DNS rebinding: the address checked is the address connected to ---------------------------------
def test_it_connects_to_the_address_it_checked_not_to_a_second_dns_answer(monkeypatch, settings):  # type: ignore[no-untyped-def]
    """The name resolves once: to 127.0.0.2 (standing in for a public address here), then, were it
    asked again, to 127.0.0.1. The request reaches 127.0.0.2 with the name in the Host header."""
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    checked = socket.create_server(("127.0.0.2", 0))
    port = checked.getsockname()[1]
    rebound = socket.create_server(("127.0.0.1", port))  # the same port on the address DNS turns to later
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "rebind.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(http, "address_is_public", lambda a: str(a) == "127.0.0.2")
    served: list[bytes] = []

    def serve() -> None:
        conn, _ = checked.accept()
        with conn:
            served.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    rebound.settimeout(0.2)
    try:
        assert http.get(f"http://rebind.example:{port}/jwks").status_code == 204
        thread.join(5)
        assert lookups == ["rebind.example"]
        assert f"Host: rebind.example:{port}".encode() in served[0]
        with pytest.raises(socket.timeout):
            rebound.accept()  # nothing reached the address of the second answer
    finally:
        checked.close()
        rebound.close()


def test_it_refuses_a_name_with_one_private_address_among_public_ones(monkeypatch, listener, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "mixed.example":
            return real_getaddrinfo(host, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.216.34", listener.port)),
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", listener.port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(http.BlockedAddressError, match=r"non-public address 127\.0\.0\.1"):
        http.get(f"http://mixed.example:{listener.port}/")
    assert listener.connections == 0


# 6. The lean path of repeated service calls (a score post per score) keeps every check -------------
def test_the_lean_path_refuses_a_private_address_without_connecting(listener, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    for url in (f"http://localhost:{listener.port}/scores", f"http://[::ffff:127.0.0.1]:{listener.port}/scores"):
        with pytest.raises(http.BlockedAddressError):
            http.send_lean("POST", url, body=b"{}", headers={})
    with pytest.raises(http.AmbiguousUrlError):
        http.send_lean("POST", f"http://platform.example\\@127.0.0.1:{listener.port}/", body=b"{}", headers={})
    assert listener.connections == 0
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    assert http.send_lean("POST", f"http://localhost:{listener.port}/scores", body=b"{}", headers={}).status_code == 204
    assert listener.connections == 1


def test_the_lean_path_checks_a_redirect_as_every_call_does(settings, target):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    redirector = Listener(_redirect_to(f"http://localhost:{target.port}/internal"))
    try:
        with pytest.raises(http.BlockedAddressError, match="non-public address"):
            http.send_lean("POST", f"http://127.0.0.1:{redirector.port}/scores", body=b"{}", headers={})
        assert target.connections == 0
    finally:
        redirector.close()


def test_the_lean_path_sends_the_session_headers_and_reports_a_closed_port_as_requests_does(listener):  # type: ignore[no-untyped-def]
    answer = http.send_lean(
        "POST", f"http://127.0.0.1:{listener.port}/s", body=b'{"a": 1}', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 204
    sent = listener.requests[0].decode()
    assert sent.startswith("POST /s HTTP/1.1")
    assert "User-Agent: " in sent and "Content-Type: application/json" in sent and "Content-Length: 8" in sent
    with pytest.raises(requests.ConnectionError):
        http.send_lean("POST", f"http://127.0.0.1:{_closed_port()}/s", body=b"{}", headers={})


def test_the_lean_path_verifies_tls_as_requests_does_over_the_same_pool(listener):  # type: ignore[no-untyped-def]
    url = f"https://127.0.0.1:{listener.port}/scores"
    with pytest.raises(requests.ConnectionError):  # the listener speaks no TLS
        http.send_lean("POST", url, body=b"{}", headers={})
    pools = list(http.session().get_adapter(url).poolmanager.pools._container.values())
    https = [p for p in pools if p.scheme == "https" and p.port == listener.port]
    assert len(https) == 1, "one pool for the host, as requests would use"
    assert https[0].cert_reqs == "CERT_REQUIRED" and https[0].ca_certs == requests.certs.where()
    with pytest.raises(requests.ConnectionError):
        http.request("POST", url, data=b"{}")
    assert [
        p for p in http.session().get_adapter(url).poolmanager.pools._container.values() if p.port == listener.port
    ] == https


# 7. The windowed path (several score posts in flight from one thread) keeps every check --------------
def _window(urls: list[str], **kwargs):  # type: ignore[no-untyped-def]
    return list(http.send_window("POST", [(url, b"{}", {}) for url in urls], **{"in_flight": 3, **kwargs}))


def test_the_windowed_path_refuses_private_and_ambiguous_addresses_without_connecting(listener, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    answers = _window(
        [
            f"http://localhost:{listener.port}/scores",
            f"http://[::ffff:127.0.0.1]:{listener.port}/scores",
            f"http://platform.example\\@127.0.0.1:{listener.port}/",
        ]
    )
    assert [type(a) for a in answers] == [http.BlockedAddressError, http.BlockedAddressError, http.AmbiguousUrlError]
    assert listener.connections == 0
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    answers = _window([f"http://localhost:{listener.port}/scores"] * 5)
    assert [a.status_code for a in answers] == [204] * 5
    assert listener.connections == 5  # the listener closes each connection after its answer


def test_the_windowed_path_checks_a_redirect_as_every_call_does(settings, target):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    redirector = Listener(_redirect_to(f"http://localhost:{target.port}/internal"))
    try:
        (answer,) = _window([f"http://127.0.0.1:{redirector.port}/scores"])
        assert isinstance(answer, http.BlockedAddressError) and "non-public address" in str(answer)
        assert target.connections == 0
    finally:
        redirector.close()


def test_the_windowed_path_sends_the_session_headers_and_reports_each_failure_in_its_place(listener):  # type: ignore[no-untyped-def]
    ok = f"http://127.0.0.1:{listener.port}/s"
    answers = _window([ok, f"http://127.0.0.1:{_closed_port()}/s", ok])
    assert answers[0].status_code == 204 and answers[2].status_code == 204
    assert isinstance(answers[1], requests.ConnectionError)
    sent = listener.requests[0].decode()
    assert sent.startswith("POST /s HTTP/1.1") and "User-Agent: " in sent and "Content-Length: 2" in sent


def test_the_windowed_path_writes_no_call_once_go_on_says_no(listener):  # type: ignore[no-untyped-def]
    asked = [0]

    def go_on() -> bool:
        asked[0] += 1
        return asked[0] <= 2

    answers = _window([f"http://127.0.0.1:{listener.port}/s"] * 6, go_on=go_on)
    assert [a.status_code for a in answers] == [204, 204]
    assert len(listener.requests) == 2
