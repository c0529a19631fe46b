"""Calls to a platform's LTI Advantage services (AGS, NRPS) with OAuth2 client-credentials tokens.

Fixes docs/platforms.md, pylti1p3 defect 6: pylti1p3 asks for a new access token on every service object and
ignores ``expires_in`` (numbas-lti-provider was rate-limited by Canvas for it). Here a token is
cached, sealed, in the shared cache per (issuer, client_id, token URL, scopes) until shortly before it
expires; a 401 drops it and retries once with a fresh one. The client assertion is signed with
the tool's key loaded once per process (defect 5). Every call goes through ``core.http`` (timeouts,
User-Agent, which Canvas requires).

Failures are sorted for the caller (1EdTech Security Framework §4.1, RFC 6749 §5.2):
``ServiceUnavailable`` may succeed later (network errors, timeouts, 5xx, 429 with ``Retry-After``);
``ServiceRefused`` will not change by retrying (other 4xx), and carries the platform's answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json as jsonlib  # ``call`` takes a ``json`` argument
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.cache import cache

from lms_tool.core import crypto, http

from . import keys
from .models import Registration

logger = logging.getLogger(__name__)

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TOKEN_SAFETY_MARGIN = 60  # seconds before expiry that a cached token is given up
# Counts token requests, so the benchmark can show one token serves many calls.
token_requests = 0
# Each process also remembers a token briefly, sparing a cache round trip per call; a token another
# process refreshed meanwhile still works or answers 401, which refreshes it here too.
TOKEN_MEMO_SECONDS = 30.0
_memo: dict[str, tuple[str, float]] = {}


def forget() -> None:
    """Drop this process's remembered tokens, as a new process starts (tests; the shared cache keeps its own)."""
    _memo.clear()


class ServiceError(Exception):
    def __init__(self, message: str, *, status: int | None = None, body: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.body = body[:2000]
        self.retry_after = retry_after


class ServiceUnavailable(ServiceError):
    """Worth retrying later: the network, a timeout, a 5xx, or 429."""


class ServiceRefused(ServiceError):
    """Will not succeed by retrying: the platform refused the request (4xx), or the tool refuses its address."""


def _blocked(what: str, url: str, exc: http.BlockedAddressError) -> ServiceRefused:
    """A service URL the tool will not call: the same address is refused on every retry, so it is final."""
    http.failure_log(what, url, exc)
    return ServiceRefused(
        f"{what} {url.split('?', 1)[0]} is refused: it is not a public address (or not a plain URL). A platform "
        "on a private network must be listed in HTTP_ALLOWED_PRIVATE_HOSTS."
    )


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None


def backoff(attempt: int, *, retry_after: float | None = None, base: float = 2.0, cap: float = 600.0) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): exponential with full jitter, never
    sooner than the platform's ``Retry-After``."""
    delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    return max(delay, retry_after or 0.0)


# A bearer token in the shared cache could post grades or read a roster for its lifetime (up to an hour):
# like the kept launch (lti/services.py), it is stored sealed with AES-GCM, under a name that is a keyed
# hash, so neither a dump of Redis (or the cache table) nor a guess of the issuer and client id yields it.
def _token_keys(registration: Registration, scopes: tuple[str, ...]) -> tuple[str, bytes]:
    """(cache key, sealing key), both keyed hashes of whose token it is."""
    # Issuer alone is not enough: every cloud Canvas school shares https://canvas.instructure.com.
    raw = "\n".join([registration.issuer, registration.client_id, registration.auth_token_url, *scopes]).encode()
    secret = crypto.secret_key_for("lti-service-token")
    name = hmac.new(secret, b"name:" + raw, hashlib.sha256).hexdigest()
    return "lti:token:" + name, hmac.new(secret, b"key:" + raw, hashlib.sha256).digest()


def token_cache_key(registration: Registration, scopes: tuple[str, ...]) -> str:
    """The shared-cache name of ``registration``'s token for ``scopes`` (one per client, token URL and scopes)."""
    return _token_keys(registration, scopes)[0]


def _token_seal(name: str, key: bytes, token: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, token.encode(), name.encode())


def _token_unseal(name: str, key: bytes, sealed: object) -> str | None:
    if not isinstance(sealed, bytes) or len(sealed) < 13:
        return None
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], name.encode()).decode()
    except InvalidTag:  # SECRET_KEY changed: ask for a new token
        return None


def _unreached(method: str, url: str, exc: requests.RequestException) -> ServiceError:
    """What a call that did not get an answer means: a refused address is final, anything else worth retrying."""
    if isinstance(exc, http.BlockedAddressError):
        return _blocked(method, url, exc)
    return ServiceUnavailable(f"{method} {url} failed: {exc.__class__.__name__}")


def _classify(response: requests.Response, what: str) -> None:
    if response.status_code < 400:
        return
    message = f"{what} answered HTTP {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        raise ServiceUnavailable(
            message, status=response.status_code, body=response.text, retry_after=_retry_after(response)
        )
    raise ServiceRefused(message, status=response.status_code, body=response.text)


def client_assertion(registration: Registration) -> str:
    now = int(time.time())
    return keys.sign(
        {
            "iss": registration.client_id,
            "sub": registration.client_id,
            "aud": registration.token_audience,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
    )


def access_token(registration: Registration, scopes: Iterable[str], *, fresh: bool = False) -> str:
    """A bearer token for ``scopes``, from the shared cache unless it is missing or ``fresh``."""
    global token_requests
    scope_key = tuple(sorted(set(scopes)))
    cache_key, seal_key = _token_keys(registration, scope_key)
    now = time.monotonic()
    if not fresh:
        hit = _memo.get(cache_key)
        if hit is not None and hit[1] > now:
            return hit[0]
        kept = _token_unseal(cache_key, seal_key, cache.get(cache_key))
        if kept:
            _memo[cache_key] = (kept, now + TOKEN_MEMO_SECONDS)
            return kept
    token_requests += 1
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(registration),
        "scope": " ".join(scope_key),
    }
    try:
        response = http.post(registration.auth_token_url, data=data, headers={"Accept": "application/json"})
    except http.BlockedAddressError as exc:
        raise _blocked("the token endpoint", registration.auth_token_url, exc) from exc
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"token endpoint unreachable: {exc.__class__.__name__}") from exc
    _classify(response, "the token endpoint")
    try:
        answer = response.json()
        token = str(answer["access_token"])
        expires_in = int(answer.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceRefused("the token endpoint answered without an access_token", body=response.text) from exc
    # A platform's expires_in is trusted only up to a day (and a huge one would overflow cache expiry).
    expires_in = min(expires_in, 86400)
    ttl = expires_in - TOKEN_SAFETY_MARGIN if expires_in > 2 * TOKEN_SAFETY_MARGIN else expires_in // 2
    if ttl > 0:
        cache.set(cache_key, _token_seal(cache_key, seal_key, token), ttl)
        _memo[cache_key] = (token, now + min(TOKEN_MEMO_SECONDS, ttl))
    else:
        _memo.pop(cache_key, None)
    return token


def call(
    registration: Registration,
    method: str,
    url: str,
    *,
    scopes: Iterable[str],
    accept: str | None = None,
    json: Any = None,
    content_type: str | None = None,
    params: dict[str, str] | None = None,
) -> requests.Response:
    """One authorised service call; refreshes the token once on 401. Raises ``ServiceError``."""
    scopes = tuple(scopes)
    headers = {"Accept": accept} if accept else {}
    if content_type:
        headers["Content-Type"] = content_type
    body = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        headers.setdefault("Content-Type", "application/json")
    for attempt in (1, 2):
        token = access_token(registration, scopes, fresh=attempt == 2)
        try:
            sent = {**headers, "Authorization": f"Bearer {token}"}
            if params is None:  # every call but a filtered list: a score post is one per score
                response = http.send_lean(method, url, body=body, headers=sent)
            else:
                response = http.request(method, url, params=params, data=body, headers=sent)
        except requests.RequestException as exc:
            raise _unreached(method, url, exc) from exc
        if response.status_code != 401 or attempt == 2:
            break
        logger.info("%s %s answered 401; retrying once with a fresh token", method, url)
    _classify(response, f"{method} {url}")
    return response


def call_window(
    registration: Registration,
    method: str,
    calls: list[tuple[str, Any]],
    *,
    scopes: Iterable[str],
    content_type: str,
    in_flight: int,
    go_on: Callable[[], bool] = lambda: True,
) -> Iterator[requests.Response | ServiceError]:
    """``call(registration, method, url, scopes=scopes, json=payload, content_type=content_type)`` for each of
    ``calls`` (url, payload), up to ``in_flight`` at once from this thread (``http.send_window``): yields each
    call's answer, or the ``ServiceError`` ``call`` would have raised for it, in the order of ``calls``; stops
    starting calls once ``go_on`` says no. One token for all; a call answered 401 goes again through ``call``,
    with the token cached now (another call may have renewed it meanwhile) and, refused again, with a fresh one."""
    scopes = tuple(scopes)
    try:
        token = access_token(registration, scopes)
    except ServiceError as exc:  # each call would meet it: the answer to each, until go_on says no
        for _ in calls:
            if not go_on():
                return
            yield exc
        return
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    written = ((url, jsonlib.dumps(payload).encode(), headers) for url, payload in calls)
    answers = http.send_window(method, written, in_flight=in_flight, go_on=go_on)
    for (url, payload), answer in zip(calls, answers, strict=False):  # shorter once go_on says no
        try:
            if isinstance(answer, requests.RequestException):
                raise _unreached(method, url, answer) from answer
            if answer.status_code == 401:
                logger.info("%s %s answered 401; sending it again through call", method, url)
                answer = call(registration, method, url, scopes=scopes, json=payload, content_type=content_type)
            _classify(answer, f"{method} {url}")
        except ServiceError as exc:
            yield exc
        else:
            yield answer


def next_link(response: requests.Response, rel: str = "next") -> str | None:
    """The URL of a ``Link`` header relation, exactly as sent (pylti1p3 lowercases it: PR #139)."""
    link = response.links.get(rel)
    return link.get("url") if link else None
