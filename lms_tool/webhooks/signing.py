"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec "Signature scheme").

``webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">``, keyed
with the base64 part of the ``whsec_...`` secret. Receivers check it and the timestamp's freshness,
and de-duplicate on ``webhook-id`` (the domain event's stable id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
        "Content-Type": "application/json",
    }


def verify(*, secret: str, headers: dict[str, str], body: bytes, now: int) -> bool:
    """What a receiver does (used by tests and documented for SIS developers)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered["webhook-timestamp"])
        expected = sign(secret=secret, msg_id=lowered["webhook-id"], timestamp=timestamp, body=body)
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    given = lowered.get("webhook-signature", "").split(" ")
    return any(hmac.compare_digest(expected, candidate) for candidate in given)
