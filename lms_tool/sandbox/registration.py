"""Sandbox platform: LTI Dynamic Registration the way Canvas and the way Moodle do it.

Canvas (canvas-lms ``doc/api/registration.md``, ``dynamic_registration_controller.rb``):
  GET  /api/lti/security/openid-configuration   Bearer registration token required
  POST /api/lti/registrations                   Bearer token; answers the registration + client_id,
                                                no deployment_id; the admin may trim scopes
Moodle (``mod/lti/openid-configuration.php``, ``openid-registration.php``, ``registration_helper.php``):
  GET  /mod/lti/openid-configuration.php        public; messages_supported as plain strings
  POST /mod/lti/openid-registration.php         single-use token whose ``sub`` is the client id;
                                                401 "token_already_used" when reused; the answer
                                                carries the deployment_id; the tool is pending

``RegistrationState`` (``platform.extensions["registration"]``) issues tokens, records what the tool
sent, and has fault switches for the bad days the tool must explain to an admin.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .platform import Platform
from .web import Req, json_response, route

AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = [AGS + "lineitem", AGS + "lineitem.readonly", AGS + "result.readonly", AGS + "score", NRPS]
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
CANVAS_CONFIG_PATH = "/api/lti/security/openid-configuration"
MOODLE_CONFIG_PATH = "/mod/lti/openid-configuration.php"
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class RegistrationState:
    tokens: dict[str, str] = field(default_factory=dict)  # token -> client id it will create
    used: set[str] = field(default_factory=set)
    received: list[dict[str, Any]] = field(default_factory=list)
    # "config": "500" | "not-json" | "incomplete" | "wrong-issuer"; "register": "400" | "500" | "no-client-id";
    # "trim_scopes": [scopes the admin turned off] (Canvas); "no_scope": answer without "scope";
    # "client_id": answer this client id whatever the token said (a platform naming a registration the
    # tool already has, or a very long id); "deployment_id": Moodle answers this deployment id.
    faults: dict[str, Any] = field(default_factory=dict)
    # Edits the openid-configuration before it is served (a platform that offers fewer scopes, or
    # names another registration endpoint).
    config_edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def state(platform: Platform) -> RegistrationState:
    with platform.lock:
        return platform.extensions.setdefault("registration", RegistrationState())  # type: ignore[no-any-return]


def config_url(platform: Platform) -> str:
    return platform.base_url + (MOODLE_CONFIG_PATH if platform.family == "moodle" else CANVAS_CONFIG_PATH)


def issue_token(platform: Platform) -> str:
    """A registration token: a JWT signed by the platform (Moodle: ``sub`` is the future client id)."""
    client_id = secrets.token_hex(8) if platform.family == "moodle" else str(10000000000000 + secrets.randbelow(10**6))
    now = int(time.time())
    token = platform.sign({"sub": client_id, "iat": now, "exp": now + 3600, "scope": "reg"})
    with platform.lock:
        state(platform).tokens[token] = client_id
    return token


def start_url(platform: Platform, tool_register_url: str, *, token: str | None = None) -> str:
    """Where the platform sends the admin who pasted the tool's registration URL (DR §3.3)."""
    token = token if token is not None else issue_token(platform)
    query = urlencode({"openid_configuration": config_url(platform), "registration_token": token})
    return tool_register_url + ("&" if "?" in tool_register_url else "?") + query


def _bearer(req: Req) -> str:
    header = req.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


def configuration(platform: Platform) -> dict[str, Any]:
    """The openid-configuration the platform publishes (DR §3.5.1), before any ``config_edit``."""
    base = platform.base_url
    common: dict[str, Any] = {
        "issuer": platform.issuer,
        "authorization_endpoint": platform.auth_url,
        "token_endpoint": platform.token_url,
        "jwks_uri": platform.jwks_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
    }
    if platform.family == "moodle":
        return {
            **common,
            "registration_endpoint": base + "/mod/lti/openid-registration.php",
            "scopes_supported": [*SCOPES, "openid"],
            "subject_types_supported": ["public", "pairwise"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "moodle",
                "version": "5.0",
                "messages_supported": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
                "placements": ["AddContentMenu"],
                "variables": ["basic-lti-launch-request", "Context.id", "ResourceLink.id"],
            },
        }
    return {
        **common,
        "registration_endpoint": base + "/api/lti/registrations",
        "scopes_supported": [*SCOPES, "https://canvas.instructure.com/lti/public_jwk/scope/update"],
        "subject_types_supported": ["public"],
        "authorization_server": "canvas.instructure.com",
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "canvas",
            "version": "vCloud",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest", "placements": ["course_navigation", "account_navigation"]},
                {
                    "type": "LtiDeepLinkingRequest",
                    "placements": ["assignment_selection", "link_selection", "editor_button"],
                },
            ],
            "variables": ["Canvas.user.sisid", "Canvas.course.id", "Canvas.user.id"],
            "https://canvas.instructure.com/lti/account_name": "Test University",
        },
    }


def _serve_configuration(platform: Platform, req: Req, *, needs_token: bool) -> Answer:
    reg = state(platform)
    if needs_token and _bearer(req) not in reg.tokens:
        return json_response(401, {"errors": [{"message": "Invalid registration token"}]})
    fault = reg.faults.get("config")
    if fault == "500":
        return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
    if fault == "not-json":
        return 200, {"Content-Type": "text/html"}, b"<html><body>Log in to Canvas</body></html>"
    config = configuration(platform)
    if reg.config_edit is not None:
        config = reg.config_edit(config)
    if fault == "incomplete":
        config.pop("jwks_uri")
        config.pop("registration_endpoint")
    if fault == "wrong-issuer":
        config["issuer"] = "https://canvas.instructure.com"
    return json_response(200, config)


@route("GET", CANVAS_CONFIG_PATH)
def canvas_configuration(platform: Platform, req: Req) -> Answer:
    return _serve_configuration(platform, req, needs_token=True)


@route("GET", MOODLE_CONFIG_PATH)
def moodle_configuration(platform: Platform, req: Req) -> Answer:
    return _serve_configuration(platform, req, needs_token=False)


def _adopt(platform: Platform, body: dict[str, Any], client_id: str) -> None:
    """The platform now launches the tool with what it registered."""
    with platform.lock:
        platform.client_id = client_id
        platform.tool_login_url = body["initiate_login_uri"]
        platform.tool_launch_url = body["redirect_uris"][0]
        platform.tool_jwks_url = body["jwks_uri"]


def _register_fault(reg: RegistrationState) -> Answer | None:
    fault = reg.faults.get("register")
    if fault == "400":
        return json_response(400, {"errors": [{"field": "redirect_uris", "message": "is not a valid URL"}]})
    if fault == "500":
        return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
    return None


@route("POST", r"/api/lti/registrations")
def canvas_register(platform: Platform, req: Req) -> Answer:
    reg = state(platform)
    token = _bearer(req)
    if token not in reg.tokens:
        return json_response(401, {"errors": [{"message": "Invalid registration token"}]})
    failed = _register_fault(reg)
    if failed is not None:
        return failed
    body = req.json()
    with platform.lock:
        reg.received.append(body)
    client_id = str(reg.faults.get("client_id") or reg.tokens[token])
    granted = [s for s in body.get("scope", "").split() if s not in reg.faults.get("trim_scopes", [])]
    answer = {**body, "client_id": client_id, "scope": " ".join(granted)}
    if reg.faults.get("register") == "no-client-id":
        answer.pop("client_id")
    if reg.faults.get("no_scope"):
        answer.pop("scope")
    _adopt(platform, body, client_id)
    return json_response(200, answer)


@route("POST", r"/mod/lti/openid-registration\.php")
def moodle_register(platform: Platform, req: Req) -> Answer:
    reg = state(platform)
    token = _bearer(req)
    if not token:
        return 401, {"Content-Type": "text/plain"}, b"missing_registration_token"
    with platform.lock:
        if token not in reg.tokens:
            return 401, {"Content-Type": "text/plain"}, b"invalid_registration_token"
        if token in reg.used:
            return 401, {"Content-Type": "text/plain"}, b"token_already_used"
        reg.used.add(token)
    failed = _register_fault(reg)
    if failed is not None:
        return failed
    body = req.json()
    with platform.lock:
        reg.received.append(body)
    client_id = str(reg.faults.get("client_id") or reg.tokens[token])
    scopes = body.get("scope", "").split()
    type_id = str(reg.faults.get("deployment_id") or len(reg.received) + 40)
    tool_configuration = dict(body.get(TOOL_CONFIGURATION) or {})
    answer = {
        "client_id": client_id,
        "response_types": ["id_token"],
        "jwks_uri": body["jwks_uri"],
        "initiate_login_uri": body["initiate_login_uri"],
        "grant_types": ["client_credentials", "implicit"],
        "redirect_uris": body["redirect_uris"],
        "application_type": ["web"],
        "token_endpoint_auth_method": "private_key_jwt",
        "client_name": body["client_name"],
        "scope": " ".join(s for s in SCOPES if s in scopes),
        TOOL_CONFIGURATION: {
            "deployment_id": type_id,
            "target_link_uri": tool_configuration.get("target_link_uri", ""),
            "domain": tool_configuration.get("domain", ""),
            "claims": ["sub", "iss", "name", "family_name", "middle_name", "email"],
        },
    }
    if reg.faults.get("register") == "no-client-id":
        answer.pop("client_id")
    _adopt(platform, body, client_id)
    return json_response(200, answer)


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a registration token (tests: which client id it will create)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@route("GET", r"/admin/register-tool")
def registration_dialog(platform: Platform, req: Req) -> Answer:
    """The admin's dialog: the tool's registration page in an iframe, closed by ``org.imsglobal.lti.close``."""
    tool = req.query.get("tool", "")
    if not tool.startswith(("http://", "https://")):
        return json_response(400, {"error": "tool must be the tool's registration URL"})
    src = html.escape(start_url(platform, tool))
    script = """
window.addEventListener("message", function (event) {
  var frame = document.getElementById("registration");
  if (event.source !== frame.contentWindow || !event.data || event.data.subject !== "org.imsglobal.lti.close") return;
  frame.remove();
  document.getElementById("status").textContent = "Registration dialog closed";
  document.body.setAttribute("data-closed", "yes");
});
"""
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Add an LTI tool</title></head><body>'
        '<p id="status">Registering a tool</p>'
        f'<iframe id="registration" name="registration" title="Tool registration" src="{src}" width="900" height="900">'
        f"</iframe><script>{script}</script></body></html>"
    )
    return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
