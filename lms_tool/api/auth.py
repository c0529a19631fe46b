"""Authentication of API clients: ``Authorization: Bearer <client_id>.<secret>`` (or HTTP Basic).

Secrets are 256-bit random strings shown once at creation; only an HMAC-SHA256 of them is stored.
A fast keyed hash is enough for secrets this long (nothing to brute-force, unlike passwords) and
keeps authentication cheap on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiClient

CLIENT_ID_PREFIX = "sis_"


def secret_hash(client_id: str, secret: str) -> str:
    return hmac.new(b"lms-api-client:" + client_id.encode(), secret.encode(), hashlib.sha256).hexdigest()


def new_credentials() -> tuple[str, str]:
    return CLIENT_ID_PREFIX + secrets.token_hex(8), secrets.token_urlsafe(32)


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        client_id, sep, secret = value.partition(".")
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
    else:
        return None
    if not sep or not client_id or not secret or len(client_id) > 64 or len(secret) > 200:
        return None
    return client_id, secret


class ApiClientAuthentication(authentication.BaseAuthentication):
    """Unknown, malformed or revoked credentials answer 401; no header at all is left to permissions."""

    def authenticate(self, request: Request) -> tuple[ApiClient, str] | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        creds = _credentials(header)
        if creds is None:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <client_id>.<secret>'.")
        client_id, secret = creds
        client = ApiClient.objects.filter(client_id=client_id).first()
        expected = client.secret_hash if client else secret_hash("unknown", "")
        if not hmac.compare_digest(expected, secret_hash(client_id, secret)) or client is None:
            raise exceptions.AuthenticationFailed("Unknown API client or wrong secret.")
        if not client.usable:
            raise exceptions.AuthenticationFailed("This API client has been revoked; ask an admin for a new one.")
        return client, client_id

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
