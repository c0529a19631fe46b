"""Pseudonymous ids for analytics and exports: a keyed hash of who someone is, never the PII.

The same person (registration + platform ``sub``) always gets the same pseudonym, so analytics can
join rows; without the key nobody can go back from a pseudonym to the person.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from django.conf import settings

PREFIX = "p_"


@functools.cache
def _key(secret: str, configured: str) -> bytes:
    if configured:
        return configured.encode()
    return hashlib.sha256(b"pseudonym:" + secret.encode()).digest()


def pseudonym(*, registration_pk: int, sub: str) -> str:
    """A stable opaque id such as ``p_3j5k...`` (26 base32 characters, 130 bits)."""
    key = _key(settings.SECRET_KEY, settings.PRIVACY_PSEUDONYM_KEY)
    digest = hmac.new(key, f"{registration_pk}\n{sub}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode().lower().rstrip("=")[:26]
