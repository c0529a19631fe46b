"""Fast, strict JWT handling for id_tokens: parse, verify RS256 with a loaded key, check claims.

PyJWT spends most of a launch's validation time on its per-character base64url checks and
generic option handling (docs/platforms.md). This module does only what an LTI id_token needs, with
the same strictness: three base64url parts, JSON objects, an RSA algorithm from our allow-list
(so ``none`` and HMAC can never be chosen by the token), and the signature verified by
cryptography against a public key object loaded once.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.utils.translation import gettext_lazy as _

from lms_tool.core.errors import lazy_format

from .errors import LaunchError

ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which no JWT may carry (RFC 8259 §6): a NaN ``exp``
    # would pass every comparison.
    raise ValueError(f"non-standard JSON constant {name}")


_JSON = json.JSONDecoder(parse_constant=_no_constant)


def _json_object(raw: bytes) -> Any:
    try:
        return _JSON.decode(raw.decode())
    except RecursionError as exc:  # deeply nested arrays: refused like any other bad JSON
        raise ValueError("JSON nested too deeply") from exc


def _b64decode(part: str) -> bytes:
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse(token: str, *, max_bytes: int) -> UnverifiedToken:
    """Split and decode a compact JWS without trusting it yet."""
    if len(token) > max_bytes:
        raise LaunchError(
            "token_too_large",
            _("The launch message from your learning platform is too large to be accepted."),
            admin_hint=lazy_format(
                _("The id_token is %(size)s bytes; the limit is %(limit)s (LTI_MAX_ID_TOKEN_BYTES)."),
                size=len(token),
                limit=max_bytes,
            ),
            status=413,
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise LaunchError(
            "token_malformed", _("The launch message is not a valid signed token."), detail="not three parts"
        )
    try:
        header = _json_object(_b64decode(parts[0]))
        claims = _json_object(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise LaunchError(
            "token_malformed", _("The launch message is not a valid signed token."), detail=f"undecodable: {exc}"
        ) from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise LaunchError(
            "token_malformed", _("The launch message is not a valid signed token."), detail="not JSON objects"
        )
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise LaunchError(
            "token_bad_algorithm",
            _("The launch message is signed with an algorithm this tool does not accept."),
            admin_hint=_("LTI 1.3 requires RS256 signatures from the platform."),
            detail=f"alg={alg!r}",
            status=401,
        )
    if "crit" in header:
        # RFC 7515 §4.1.11: a recipient must refuse critical extensions it does not understand.
        raise LaunchError(
            "token_malformed", _("The launch message is not a valid signed token."), detail=f"crit={header['crit']!r}"
        )
    return UnverifiedToken(header, claims, f"{parts[0]}.{parts[1]}".encode(), signature)


def verify_signature(token: UnverifiedToken, key: rsa.RSAPublicKey) -> None:
    try:
        key.verify(token.signature, token.signing_input, padding.PKCS1v15(), ALGORITHMS[token.header["alg"]])
    except InvalidSignature as exc:
        raise LaunchError(
            "token_bad_signature",
            _("The launch message's signature is not valid."),
            admin_hint=_(
                "The platform's signing key does not match its published JWKS; check the registration's JWKS URL."
            ),
            status=401,
        ) from exc


def check_times(claims: dict[str, Any], *, now: float, leeway: int) -> None:
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise LaunchError("token_missing_claim", _("The launch message has no expiry time."), detail="exp missing")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise LaunchError("token_missing_claim", _("The launch message has no issue time."), detail="iat missing")
    if exp < now - leeway:
        raise LaunchError(
            "token_expired",
            _("The launch message has expired. Go back to your course and open the tool again."),
            admin_hint=_("If this keeps happening, check that the platform's and the tool's clocks are right."),
            detail=f"exp={exp} now={now:.0f}",
            status=401,
        )
    if iat > now + leeway:
        raise LaunchError(
            "token_issued_in_future",
            _("The launch message claims to be issued in the future."),
            admin_hint=_("The platform's clock is ahead of the tool's; check both servers' time synchronisation."),
            detail=f"iat={iat} now={now:.0f}",
            status=401,
        )
    if isinstance(nbf, (int, float)) and nbf > now + leeway:
        raise LaunchError(
            "token_not_yet_valid", _("The launch message is not valid yet."), detail=f"nbf={nbf}", status=401
        )
