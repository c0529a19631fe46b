"""The tool's own RSA keys: creation, rotation with an overlap window, the JWKS, and signing.

pylti1p3 re-parses the PEM private key for every signature (~36 ms of RSA key validation each,
docs/platforms.md, pylti1p3 defect 5). Here a key is parsed once per process and kept by ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from lms_tool.core import crypto
from lms_tool.core.services import audit_record

from .models import ToolKey

JWKS_CACHE_KEY = "lti:tool-jwks"
ACTIVE_KID_CACHE_KEY = "lti:tool-active-kid"
# How long a process trusts its memory of which key is active; after a rotation other processes
# switch within this time, and the retiring key stays in the JWKS far longer than that.
ACTIVE_KID_MEMO_SECONDS = 30.0
JWKS_CACHE_SECONDS = 300

_lock = threading.Lock()
_private_keys: dict[str, rsa.RSAPrivateKey] = {}
_active: tuple[str, float] | None = None  # (kid, memo expiry)


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    jwk = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    jwk["kid"] = thumbprint(jwk)
    jwk.update({"alg": "RS256", "use": "sig"})
    return jwk


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA key."""
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def key_create(*, activate: bool = True) -> ToolKey:
    """Generate a 2048-bit RSA key pair; store the private part encrypted."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk = public_jwk(private.public_key())
    with transaction.atomic():
        if activate:
            # Normally none (key_rotate retires the old key first); never leave a replaced key
            # without an end to its publication.
            ToolKey.objects.filter(is_active=True).update(is_active=False, retired_at=timezone.now())
        key = ToolKey.objects.create(
            kid=jwk["kid"], private_key_encrypted=crypto.encrypt(pem), public_jwk=jwk, is_active=activate
        )
        transaction.on_commit(_forget_active)
    return key


def key_rotate(*, overlap: timedelta | None = None, actor: str = "system") -> ToolKey:
    """Make a new key active; the old one stays published for ``overlap``, then leaves the JWKS."""
    overlap = overlap if overlap is not None else timedelta(seconds=settings.LTI["KEY_OVERLAP_SECONDS"])
    with transaction.atomic():
        old = list(ToolKey.objects.select_for_update().filter(is_active=True))
        retire_at = timezone.now() + overlap
        ToolKey.objects.filter(pk__in=[k.pk for k in old]).update(is_active=False, retired_at=retire_at)
        new = key_create(activate=True)
        audit_record(
            actor_type="admin" if actor != "system" else "system",
            actor_id=actor,
            action="tool_key.rotate",
            object_type="tool_key",
            object_id=new.kid,
            before={"active": [k.kid for k in old]},
            after={"active": new.kid, "retiring_until": retire_at.isoformat()},
        )
    return new


def _first_key() -> ToolKey:
    """The active key, creating the first one; processes racing to create it settle on one."""
    key = ToolKey.objects.filter(is_active=True).only("kid").first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return key_create()
    except IntegrityError:  # another process created it first (one_active_key constraint)
        return ToolKey.objects.get(is_active=True)


def _forget_active() -> None:
    global _active
    _active = None
    cache.delete_many([JWKS_CACHE_KEY, ACTIVE_KID_CACHE_KEY])


def forget() -> None:
    """Drop this process's memory of the active kid and its parsed private keys, as a new process starts
    (tests; the shared cache and the database are untouched)."""
    global _active
    with _lock:
        _active = None
        _private_keys.clear()


def active_kid() -> str:
    """The kid that signs now (creating the first key if there is none)."""
    global _active
    now = time.monotonic()
    if _active is not None and _active[1] > now:
        return _active[0]
    kid = cache.get(ACTIVE_KID_CACHE_KEY)
    if kid is None:
        kid = _first_key().kid
        cache.set(ACTIVE_KID_CACHE_KEY, kid, 300)
    _active = (kid, now + ACTIVE_KID_MEMO_SECONDS)
    return kid


def private_key(kid: str) -> rsa.RSAPrivateKey:
    """The loaded private key for ``kid``: parsed from the database once per process."""
    key = _private_keys.get(kid)
    if key is None:
        with _lock:
            key = _private_keys.get(kid)
            if key is None:
                pem = ToolKey.objects.get(kid=kid).private_pem()
                loaded = serialization.load_pem_private_key(pem, password=None)
                assert isinstance(loaded, rsa.RSAPrivateKey)
                key = _private_keys[kid] = loaded
    return key


def sign(payload: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
    """Sign a JWT (RS256) with the active key."""
    kid = active_kid()
    return jwt.encode(payload, private_key(kid), algorithm="RS256", headers={"kid": kid, **(headers or {})})


def jwks() -> dict[str, list[dict[str, str]]]:
    """The public keys to publish: the active key and retiring keys within their overlap."""
    data = cache.get(JWKS_CACHE_KEY)
    if data is None or data["until"] <= time.time():
        _first_key()
        now = timezone.now()
        published = list(ToolKey.objects.published(now))
        # Valid until the next retiring key leaves (not a cache timeout's whole seconds later).
        until = min([now + timedelta(seconds=JWKS_CACHE_SECONDS)] + [k.retired_at for k in published if k.retired_at])
        data = {"keys": [k.public_jwk for k in published], "until": until.timestamp()}
        cache.set(JWKS_CACHE_KEY, data, JWKS_CACHE_SECONDS)
    return {"keys": data["keys"]}
