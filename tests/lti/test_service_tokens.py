"""Access tokens for LTI Advantage services are reused, not requested per call (docs/platforms.md, pylti1p3 defect 6).

pylti1p3 asks the platform's token endpoint for a new token on every service object and ignores
``expires_in``. Counted here as the POSTs the sandbox platform's token endpoint saw.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection

from lms_tool.lti import service_client as sc
from lms_tool.lti.models import Registration
from lms_tool.sandbox.platform import Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform, registration_of


@pytest.fixture(scope="module")
def _server() -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    yield server
    server.stop()


@pytest.fixture
def plat(_server: PlatformServer, tool_url: str) -> Platform:
    # The platform checks the tool's client assertion against the tool's JWKS, served by the live tool.
    return make_platform(_server, tool_url, family="canvas")


def token_posts(platform: Platform) -> int:
    return sum(1 for seen in platform.requests_seen if seen == ("POST", "/token"))


def test_one_token_serves_many_calls_and_is_shared_through_the_cache(plat):
    registration = registration_of(plat)

    tokens = {sc.access_token(registration, [sc.SCOPE_SCORE, sc.SCOPE_LINEITEM]) for _ in range(5)}
    tokens.add(sc.access_token(registration, [sc.SCOPE_LINEITEM, sc.SCOPE_SCORE]))  # same scopes, any order

    assert len(tokens) == 1
    assert token_posts(plat) == 1

    # Another scope set is another token; fresh=True (after a 401) asks again.
    sc.access_token(registration, [sc.SCOPE_NRPS])
    sc.access_token(registration, [sc.SCOPE_SCORE, sc.SCOPE_LINEITEM], fresh=True)
    assert token_posts(plat) == 3

    # The shared cache is where tokens live: another process (no memo of its own) finds it there...
    sc.forget()
    sc.access_token(registration, [sc.SCOPE_SCORE, sc.SCOPE_LINEITEM])
    assert token_posts(plat) == 3
    # ...and without it a new token is needed.
    cache.clear()
    sc.forget()
    sc.access_token(registration, [sc.SCOPE_SCORE, sc.SCOPE_LINEITEM])
    assert token_posts(plat) == 4


def test_tokens_are_cached_per_client_and_token_url_not_per_issuer():
    # Every cloud Canvas school shares one issuer: a token cached by issuer alone would leak across schools.
    def registration(client_id: str, token_url: str = "https://sso.canvaslms.com/login/oauth2/token") -> Registration:
        return Registration(issuer="https://canvas.instructure.com", client_id=client_id, auth_token_url=token_url)

    scopes = (sc.SCOPE_SCORE,)
    school_a = sc.token_cache_key(registration("10000000000001"), scopes)
    school_b = sc.token_cache_key(registration("10000000000002"), scopes)
    beta = sc.token_cache_key(
        registration("10000000000001", "https://sso.beta.canvaslms.com/login/oauth2/token"), scopes
    )

    assert len({school_a, school_b, beta}) == 3
    assert sc.token_cache_key(registration("10000000000001"), (sc.SCOPE_NRPS,)) != school_a


def _raw_cache_entries() -> list[tuple[str, bytes]]:
    """Every (key, stored bytes) in the shared cache, read past Django's cache API (Redis or the table)."""
    backend = cache._cache if hasattr(cache, "_cache") else None  # Redis
    if backend is not None:
        client = backend.get_client()
        return [(key.decode(), client.get(key) or b"") for key in client.scan_iter(match=cache.make_key("*"))]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key, value FROM {cache._table}")  # type: ignore[attr-defined]
        return [(key, base64.b64decode(value)) for key, value in cursor.fetchall()]


def test_a_reader_of_the_cache_finds_no_service_token_nor_whose_it_is(plat):
    registration = registration_of(plat)
    grades = sc.access_token(registration, [sc.SCOPE_SCORE, sc.SCOPE_LINEITEM])
    roster = sc.access_token(registration, [sc.SCOPE_NRPS])

    entries = [(key, value) for key, value in _raw_cache_entries() if ":lti:token:" in key]
    assert len(entries) == 2  # both are kept for the next calls ...
    for key, value in entries:  # ... sealed, under names that say nothing of the platform
        for secret in (grades, roster):
            assert secret.encode() not in value, f"a token is readable in cache entry {key}"
        for identity in (registration.issuer, registration.client_id, registration.auth_token_url):
            assert identity not in key
    # Another process (no memory of its own) unseals them from the cache: no new token request.
    sc.forget()
    assert sc.access_token(registration, [sc.SCOPE_NRPS]) == roster
    assert token_posts(plat) == 2


def test_a_token_sealed_under_another_secret_is_not_used(plat, settings):
    registration = registration_of(plat)
    sc.access_token(registration, [sc.SCOPE_NRPS])
    name = sc.token_cache_key(registration, (sc.SCOPE_NRPS,))
    sealed = cache.get(name)
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    sc.forget()
    cache.set(sc.token_cache_key(registration, (sc.SCOPE_NRPS,)), sealed, 300)  # the old ciphertext, new name

    sc.access_token(registration, [sc.SCOPE_NRPS])
    assert token_posts(plat) == 2  # could not be unsealed: a new token was asked for


@pytest.mark.parametrize("url", ["http://10.0.0.5/api/lti/courses/1/line_items", "http://169.254.169.254/latest"])
def test_a_service_url_on_a_private_address_is_refused_for_good_not_retried(plat, url):
    registration = registration_of(plat)

    with pytest.raises(sc.ServiceRefused) as refused:
        sc.call(registration, "GET", url, scopes=[sc.SCOPE_LINEITEM])

    assert not isinstance(refused.value, sc.ServiceUnavailable)
    assert "HTTP_ALLOWED_PRIVATE_HOSTS" in str(refused.value) and "not a public address" in str(refused.value)


def test_a_token_endpoint_on_a_private_address_is_refused_for_good_and_never_called(plat, settings):
    registration = registration_of(plat)
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []  # the platform's token endpoint is on 127.0.0.1

    with pytest.raises(sc.ServiceRefused, match=r"the token endpoint .* is refused"):
        sc.access_token(registration, [sc.SCOPE_NRPS])

    assert token_posts(plat) == 0
