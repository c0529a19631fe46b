"""Encryption at rest for secrets and PII: MultiFernet over ``FIELD_ENCRYPTION_KEYS``."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A ciphertext could not be read with any configured key."""


def secret_key_for(purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from SECRET_KEY (so purposes never share a key)."""
    return hashlib.sha256(purpose.encode() + b":" + settings.SECRET_KEY.encode()).digest()


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        derived = secret_key_for("field-encryption")
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def forget() -> None:
    """Drop the keys read from settings, so a change of FIELD_ENCRYPTION_KEYS takes effect (tests; a process
    in production reads them once at its first use)."""
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "cannot decrypt a stored secret: FIELD_ENCRYPTION_KEYS (or SECRET_KEY) changed without re-encryption"
        ) from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first (newest) key."""
    return _fernet().rotate(ciphertext.encode()).decode()


def blind_index(value: str) -> str:
    """A keyed hash for looking up an encrypted value without decrypting every row."""
    return hmac.new(secret_key_for("blind-index"), value.strip().lower().encode(), hashlib.sha256).hexdigest()
