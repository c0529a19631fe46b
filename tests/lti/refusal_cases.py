"""Bad launches and how the tool must answer them: helpers and case tables for test_launch_refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
import requests

from lms_tool.lti import claims as c
from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, ResourceLink
from lms_tool.sandbox.platform import ROLE, Platform, PlatformKey

from . import flow

Hook = Callable[[dict[str, Any]], dict[str, Any]]
USER_MESSAGE = re.compile(r'<h1 id="error-title">[^<]+</h1>\s*<p>([^<]+)</p>')
OTHER_TOOL = "another-tool-client"
# What the database holds before any launch: the registration's listed deployment.
NOTHING = {"users": 0, "contexts": 0, "memberships": 0, "links": 0, "deployments": [("deployment-1", True)]}


def rows() -> dict[str, Any]:
    return {
        "users": LtiUser.objects.count(),
        "contexts": Context.objects.count(),
        "memberships": Membership.objects.count(),
        "links": ResourceLink.objects.count(),
        "deployments": sorted(Deployment.objects.values_list("deployment_id", "is_active")),
    }


def assert_refused(
    response: requests.Response,
    caplog: pytest.LogCaptureFixture,
    *,
    status: int,
    code: str,
    before: dict[str, Any] | None = None,
) -> None:
    """A readable error page naming ``code``, the code in the tool's log, and no new rows."""
    assert response.status_code == status, response.text[:800]
    assert response.headers["Content-Type"].startswith("text/html")
    assert flow.error_code(response) == code
    message = USER_MESSAGE.search(response.text)
    assert message is not None and len(message.group(1).strip()) > 20, response.text
    assert "Traceback" not in response.text and "Exception" not in response.text
    logged = [r.getMessage() for r in caplog.records if r.name == "lms_tool.lti"]
    assert any(f"] {code} |" in line for line in logged), logged
    assert rows() == (NOTHING if before is None else before)


def jwks_fetches(platform: Platform) -> int:
    return sum(1 for method, path in platform.requests_seen if (method, path) == ("GET", "/jwks"))


# Tokens ---------------------------------------------------------------------------------------
def b64(data: bytes | str | dict[str, Any] | list[Any]) -> str:
    raw = data if isinstance(data, bytes) else (data if isinstance(data, str) else json.dumps(data)).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(id_token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))


def unsigned(header: Any, payload: Any) -> str:
    return f"{b64(header)}.{b64(payload)}.c2ln"


# Claim edits, applied by the platform before it signs -----------------------------------------
def now() -> int:
    return int(time.time())


def without(*names: str) -> Hook:
    return lambda claims: {k: v for k, v in claims.items() if k not in names}


def setting(changes: dict[str, Any]) -> Hook:
    return lambda claims: {**claims, **changes}


def inside(claim: str, changes: dict[str, Any], drop: str = "") -> Hook:
    """Change fields of an object claim (``drop`` removes one)."""
    return lambda claims: {
        **claims,
        claim: {k: v for k, v in {**claims[claim], **changes}.items() if k != drop},
    }


def addressed(aud: Callable[[str], Any], azp: Callable[[str], Any] | None = None) -> Hook:
    """Readdress the token; ``aud`` and ``azp`` are computed from our client_id (``azp`` dropped if None)."""

    def hook(claims: dict[str, Any]) -> dict[str, Any]:
        ours = claims["aud"]
        changed = {k: v for k, v in claims.items() if k != "azp"}
        changed["aud"] = aud(ours)
        if azp is not None:
            changed["azp"] = azp(ours)
        return changed

    return hook


class Case(NamedTuple):
    name: str
    hook: Hook
    status: int
    code: str
    deep_linking: bool = False


# Forged signatures: each turns the platform's genuine id_token into a forgery --------------
def _split(token: str) -> list[str]:
    return token.split(".")


def unpublished_key_with_published_kid(plat: Platform, token: str) -> str:
    return plat.sign(claims_of(token), key=PlatformKey.generate(), headers={"kid": plat.signing_key.kid})


def claims_changed_after_signing(plat: Platform, token: str) -> str:
    header, _, signature = _split(token)
    promoted = {**claims_of(token), "sub": "instructor-1", c.ROLES: [ROLE + "Instructor"]}
    return f"{header}.{b64(promoted)}.{signature}"


def truncated_signature(plat: Platform, token: str) -> str:
    header, payload, _ = _split(token)
    return f"{header}.{payload}.{b64(b'short')}"


def alg_none(plat: Platform, token: str) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': plat.signing_key.kid})}.{b64(claims_of(token))}."


def hs256_with_the_public_key(plat: Platform, token: str) -> str:
    # The classic key-confusion attack: HMAC with the (public) PEM as the shared secret.
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': plat.signing_key.kid})}.{b64(claims_of(token))}"
    mac = hmac.new(plat.signing_key.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def odd_alg(alg: Any) -> Callable[[Platform, str], str]:
    def forge(plat: Platform, token: str) -> str:
        _, payload, signature = _split(plat.sign(claims_of(token)))
        return f"{b64({'alg': alg, 'kid': plat.signing_key.kid})}.{payload}.{signature}"

    return forge


def embedded_key(plat: Platform, token: str) -> str:
    # A token naming its own JWK or JWKS URL must not be trusted with it.
    attacker = PlatformKey.generate()
    headers = {"jwk": attacker.jwk, "jku": "https://attacker.example/jwks"}
    return plat.sign(claims_of(token), key=attacker, headers=headers)


def critical_header(plat: Platform, token: str) -> str:
    return plat.sign(claims_of(token), headers={"crit": ["exp"], "exp": 1})


def no_kid(plat: Platform, token: str) -> str:
    _, payload, signature = _split(token)
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{payload}.{signature}"


FORGERIES = [
    ("unpublished-key-with-published-kid", unpublished_key_with_published_kid, 401, "token_bad_signature"),
    ("claims-changed-after-signing", claims_changed_after_signing, 401, "token_bad_signature"),
    ("truncated-signature", truncated_signature, 401, "token_bad_signature"),
    ("alg-none", alg_none, 401, "token_bad_algorithm"),
    ("hs256-with-the-public-key", hs256_with_the_public_key, 401, "token_bad_algorithm"),
    *[(f"alg-{alg!r}", odd_alg(alg), 401, "token_bad_algorithm")
      for alg in (["RS256"], {"RS256": 1}, None, "rs256", "PS256", "ES256")],
    ("embedded-jwk-and-jku", embedded_key, 401, "token_unknown_kid"),
    ("critical-header-extension", critical_header, 400, "token_malformed"),
    ("no-kid", no_kid, 401, "token_no_kid"),
]  # fmt: skip


LONG_URL = "https://lms.example.edu/" + "l" * 1000

# fmt: off
CLAIM_REFUSALS = [
    # Who the token is from and for.
    Case("unknown-issuer", setting({"iss": "https://lms.unknown.example.edu"}), 403, "unknown_registration"),
    Case("wrong-aud", addressed(lambda ours: OTHER_TOOL), 401, "token_wrong_audience"),
    Case("wrong-aud-list", addressed(lambda ours: [OTHER_TOOL]), 401, "token_wrong_audience"),
    Case("wrong-audiences-with-azp", addressed(lambda ours: [OTHER_TOOL, "third"], lambda ours: OTHER_TOOL), 401,
         "token_wrong_audience"),
    Case("several-audiences-without-azp", addressed(lambda ours: [ours, OTHER_TOOL]), 401, "token_azp_missing"),
    Case("azp-not-among-audiences", addressed(lambda ours: [ours, OTHER_TOOL], lambda ours: "third"), 401,
         "token_azp_mismatch"),
    Case("azp-differs-from-single-audience", addressed(lambda ours: ours, lambda ours: OTHER_TOOL), 401,
         "token_azp_mismatch"),
    Case("azp-names-another-audience", addressed(lambda ours: [OTHER_TOOL, ours], lambda ours: OTHER_TOOL), 401,
         "token_wrong_audience"),
    Case("empty-aud", addressed(lambda ours: []), 400, "token_missing_claim"),
    Case("aud-not-strings", addressed(lambda ours: [ours, 7], lambda ours: ours), 400, "token_missing_claim"),
    # When.
    Case("expired", lambda cl: {**cl, "exp": now() - 3600, "iat": now() - 3900}, 401, "token_expired"),
    Case("iat-in-the-future", lambda cl: {**cl, "iat": now() + 3600, "exp": now() + 3900}, 401,
         "token_issued_in_future"),
    Case("nbf-in-the-future", lambda cl: {**cl, "nbf": now() + 3600}, 401, "token_not_yet_valid"),
    Case("no-exp", without("exp"), 400, "token_missing_claim"),
    Case("no-iat", without("iat"), 400, "token_missing_claim"),
    Case("exp-not-a-number", setting({"exp": "tomorrow"}), 400, "token_missing_claim"),
    Case("exp-infinity", setting({"exp": float("inf")}), 400, "token_malformed"),
    Case("exp-nan", setting({"exp": float("nan")}), 400, "token_malformed"),
    # The login it answers.
    Case("no-nonce", without("nonce"), 400, "token_missing_claim"),
    Case("nonce-of-another-login", setting({"nonce": "not-the-login-nonce"}), 401, "nonce_mismatch"),
    # Required claims (LTI core §5.3, DL §4.4).
    Case("no-sub", without("sub"), 400, "token_missing_claim"),
    Case("empty-sub", setting({"sub": ""}), 400, "token_missing_claim"),
    Case("no-roles", without(c.ROLES), 400, "token_missing_claim"),
    Case("no-resource-link", without(c.RESOURCE_LINK), 400, "token_missing_claim"),
    Case("resource-link-null", setting({c.RESOURCE_LINK: None}), 400, "token_missing_claim"),
    Case("deep-linking-settings-null", setting({c.DL_SETTINGS: None}), 400, "token_missing_claim",
         deep_linking=True),
    Case("sub-null", setting({"sub": None}), 400, "token_missing_claim"),
    Case("no-resource-link-id", setting({c.RESOURCE_LINK: {"title": "Week 1"}}), 400, "token_missing_claim"),
    Case("no-deployment-id", without(c.DEPLOYMENT_ID), 400, "token_missing_claim"),
    Case("no-deep-linking-settings", without(c.DL_SETTINGS), 400, "token_missing_claim", deep_linking=True),
    Case("deep-linking-without-resource-links", inside(c.DL_SETTINGS, {"accept_types": ["html"]}), 400,
         "token_missing_claim", deep_linking=True),
    Case("deep-linking-without-return-url", inside(c.DL_SETTINGS, {}, drop="deep_link_return_url"), 400,
         "token_missing_claim", deep_linking=True),
    Case("wrong-version", setting({c.VERSION: "1.1.0"}), 400, "token_bad_version"),
    Case("no-version", without(c.VERSION), 400, "token_bad_version"),
    Case("unknown-message-type", setting({c.MESSAGE_TYPE: "LtiUnknownRequest"}), 400, "token_bad_message_type"),
    Case("no-message-type", without(c.MESSAGE_TYPE), 400, "token_bad_message_type"),
    # Claims of the wrong JSON type: refused, not a crash in the launch or the pages after it.
    Case("resource-link-not-an-object", setting({c.RESOURCE_LINK: "rl-1"}), 400, "token_bad_claim"),
    Case("roles-not-a-list", setting({c.ROLES: ROLE + "Learner"}), 400, "token_bad_claim"),
    Case("roles-not-strings", setting({c.ROLES: [7]}), 400, "token_bad_claim"),
    Case("sub-not-a-string", setting({"sub": 12345}), 400, "token_bad_claim"),
    Case("context-not-an-object", setting({c.CONTEXT: ["course-101"]}), 400, "token_bad_claim"),
    Case("context-type-not-a-list", inside(c.CONTEXT, {"type": 5}), 400, "token_bad_claim"),
    Case("custom-not-an-object", setting({c.CUSTOM: "quiz=7"}), 400, "token_bad_claim"),
    Case("tool-platform-not-an-object", setting({c.TOOL_PLATFORM: "canvas"}), 400, "token_bad_claim"),
    Case("ags-endpoint-not-an-object", setting({c.AGS_ENDPOINT: "https://lms.example.edu/li"}), 400,
         "token_bad_claim"),
    Case("nrps-not-an-object", setting({c.NRPS: ["https://lms.example.edu/members"]}), 400, "token_bad_claim"),
    Case("launch-presentation-not-an-object", setting({c.LAUNCH_PRESENTATION: "iframe"}), 400, "token_bad_claim"),
    Case("deep-linking-settings-not-an-object", setting({c.DL_SETTINGS: ["ltiResourceLink"]}), 400,
         "token_bad_claim", deep_linking=True),
    # Longer than LTI allows (255 characters) or than the tool stores.
    Case("sub-too-long", setting({"sub": "s" * 256}), 400, "token_bad_claim"),
    Case("deployment-id-too-long", setting({c.DEPLOYMENT_ID: "d" * 256}), 400, "token_bad_claim"),
    Case("context-id-too-long", inside(c.CONTEXT, {"id": "x" * 256}), 400, "token_bad_claim"),
    Case("resource-link-id-too-long", setting({c.RESOURCE_LINK: {"id": "r" * 256}}), 400, "token_bad_claim"),
    Case("service-url-too-long", inside(c.AGS_ENDPOINT, {"lineitems": LONG_URL}), 400, "token_bad_claim"),
]

HEADER = {"alg": "RS256", "kid": "k"}
MALFORMED = [
    ("empty", "", "token_missing"),
    ("one-part", "not-a-jwt", "token_malformed"),
    ("four-parts", "a.b.c.d", "token_malformed"),
    ("bad-base64", "eyJhbGciOiJSUzI1NiJ9.!!!$$$.c2ln", "token_malformed"),
    ("truncated-base64", "eyJhbGciOiJSUzI1NiJ9.eyJ.c2ln", "token_malformed"),
    ("padded-base64", "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln", "token_malformed"),
    ("bad-json", unsigned(HEADER, "{not json"), "token_malformed"),
    ("not-utf8", unsigned(HEADER, b"\xff\xfe"), "token_malformed"),
    ("claims-not-an-object", unsigned(HEADER, [1, 2, 3]), "token_malformed"),
    ("header-not-an-object", unsigned('"RS256"', {"sub": "x"}), "token_malformed"),
    ("deeply-nested-json", unsigned(HEADER, "[" * 30000), "token_malformed"),
    ("nan-literal", unsigned(HEADER, '{"exp": NaN}'), "token_malformed"),
]
# fmt: on
