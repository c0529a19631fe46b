"""A small, real LTI 1.3 platform built on the independent ``lti1p3platform`` library.

The test suite drives the tool with it over real HTTP, and the sandbox (`make run`) lets a
newcomer click through the tool with it. It is a platform to the tool like any other: it signs
launches with its own key, serves its JWKS and token endpoint, and verifies what the tool signs.
Nothing in the tool knows about it.

Everything is in memory: registrations, people, courses, the gradebook and the roster. Faults
can be switched on (``faults``) so tests can see how the tool copes with a platform's bad days.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.exceptions import LtiException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest

from lms_tool.core import http

CANVAS_ISSUER = "https://canvas.instructure.com"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class PlatformKey:
    private_pem: str
    public_pem: str
    kid: str
    jwk: dict[str, str]
    # Parsed once: lti1p3platform would re-parse (and re-validate) the PEM for every signature.
    private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)

    @classmethod
    def generate(cls) -> PlatformKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private.public_key().public_numbers()
        jwk = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
        canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
        kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
        return cls(
            private_pem=private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            public_pem=private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            kid=kid,
            jwk={**jwk, "kid": kid, "alg": "RS256", "use": "sig"},
            private_key=private,
        )

    def sign(self, payload: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        assert self.private_key is not None
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})


@dataclass
class Person:
    user_id: str
    name: str
    email: str
    roles: list[str]
    given_name: str = ""
    family_name: str = ""
    status: str = "Active"


@dataclass
class Course:
    context_id: str
    title: str
    label: str
    deployment_id: str
    members: dict[str, Person] = field(default_factory=dict)
    # People dropped from the course, kept so the sandbox can enrol them again (a re-enrolment: same user id).
    dropped: dict[str, Person] = field(default_factory=dict)


@dataclass
class LaunchSpec:
    """What a launch will carry, remembered under ``lti_message_hint`` between login and auth."""

    person: Person
    course: Course | None
    message_type: str = "LtiResourceLinkRequest"
    resource_link_id: str = "rl-1"
    resource_link_title: str = "Activity"
    custom: dict[str, str] = field(default_factory=dict)
    target_link_uri: str | None = None
    lineitem_url: str | None = None
    for_user: Person | None = None
    # Edits the claims just before signing (tests: a wrong version, a missing claim...).
    claims_hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None


class _Registration(Registration):
    """lti1p3platform's registration, signing with the platform's loaded key."""

    def __init__(self, key: PlatformKey):
        super().__init__()
        self._key = key

    def get_kid(self) -> str:
        return self._key.kid

    def platform_encode_and_sign(self, payload: dict[str, Any], expiration: int | None = None) -> str:
        if expiration:
            payload.update({"iat": int(time.time()), "exp": int(time.time()) + expiration})
        return self._key.sign(payload)

    def encode_and_sign(  # type: ignore[override]
        self, payload: dict[str, Any], private_key: str, headers: Any = None, expiration: int | None = None
    ) -> str:
        if private_key != self._key.private_pem:
            return Registration.encode_and_sign(payload, private_key, headers, expiration)
        if expiration:
            payload.update({"iat": int(time.time()), "exp": int(time.time()) + expiration})
        assert self._key.private_key is not None
        return jwt.encode(payload, self._key.private_key, algorithm="RS256", headers=headers)


class HttpRequest(Request):
    """lti1p3platform's request adapter over the plain mapping our HTTP layer builds."""

    def build_metadata(self, request: TRequest) -> TRequest:
        return request


class _Config(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._platform: Platform = kwargs["platform"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._platform.registration_for(kwargs.get("deployment_id"))

    def fetch_public_key(self, key_set_url: str) -> Any:
        """The tool's JWKS (to verify its client assertions and deep-linking responses), fetched through
        ``core.http`` like every outbound call: the URL comes from what a tool sent at registration."""
        try:
            resp = http.get(key_set_url, timeout=5)
        except requests.RequestException as exc:
            raise LtiException(f"Error during fetch URL {key_set_url}: {exc}") from exc
        try:
            return resp.json()
        except ValueError as exc:
            raise LtiException(f"Invalid response from {key_set_url}. Must be JSON: {resp.text[:200]}") from exc


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


class Platform:
    """An LTI 1.3 platform: one tool registration, courses with members, a gradebook."""

    def __init__(
        self,
        *,
        base_url: str,
        tool_login_url: str,
        tool_launch_url: str,
        tool_jwks_url: str,
        client_id: str = "tool-client-1",
        family: str = "canvas",
        issuer: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.family = family
        self.issuer = issuer or (CANVAS_ISSUER if family == "canvas" else self.base_url)
        self.client_id = client_id
        self.tool_login_url = tool_login_url
        self.tool_launch_url = tool_launch_url
        self.tool_jwks_url = tool_jwks_url
        self.keys = [PlatformKey.generate()]
        self.lock = threading.RLock()
        self.courses: dict[str, Course] = {}
        # People who may launch in any course without being enrolled (Moodle site admins, Canvas sub-account
        # admins): launches name them, the roster (NRPS) never lists them.
        self.site_admins: dict[str, Person] = {}
        self.hints: dict[str, LaunchSpec] = {}
        # Fault switches read by the HTTP layer: e.g. {"jwks": "down"|"500"|"garbage"|"no-keys"}.
        self.faults: dict[str, Any] = {}
        self.requests_seen: list[tuple[str, str]] = []
        # State of the service modules (gradebook, roster...), one entry each, keyed by module.
        self.extensions: dict[str, Any] = {}

    # Endpoints ---------------------------------------------------------------------------------
    @property
    def auth_url(self) -> str:
        return self.base_url + "/auth"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/jwks"

    @property
    def signing_key(self) -> PlatformKey:
        return self.keys[-1]

    def rotate_key(self, *, keep_old: bool = True) -> PlatformKey:
        key = PlatformKey.generate()
        with self.lock:
            self.keys = [*self.keys, key] if keep_old else [key]
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.jwk for k in self.keys]}

    def registration_for(self, deployment_id: str | None) -> Registration:
        reg = (
            _Registration(self.signing_key)
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(deployment_id or "")
            .set_oidc_login_url(self.tool_login_url)
            .set_launch_url(self.tool_launch_url)
            .set_platform_private_key(self.signing_key.private_pem)
            .set_platform_public_key(self.signing_key.public_pem)
            .set_tool_key_set_url(self.tool_jwks_url)
        )
        return reg

    def config(self, deployment_id: str | None = None) -> _Config:
        conf = _Config(platform=self)
        conf.get_registration(deployment_id=deployment_id)
        return conf

    # People and courses ------------------------------------------------------------------------
    def add_course(
        self, context_id: str, *, title: str = "", label: str = "", deployment_id: str = "deployment-1"
    ) -> Course:
        course = Course(context_id, title or f"Course {context_id}", label or context_id.upper(), deployment_id)
        with self.lock:
            self.courses[context_id] = course
        return course

    def enrol(self, course: Course, person: Person) -> Person:
        with self.lock:
            course.members[person.user_id] = person
        return person

    # Login and launch --------------------------------------------------------------------------
    def login_initiation_url(self, spec: LaunchSpec) -> str:
        """Where the platform sends the browser first: the tool's OIDC login URL (LTI core §5.1.1)."""
        hint = secrets.token_urlsafe(12)
        with self.lock:
            self.hints[hint] = spec
        deployment_id = spec.course.deployment_id if spec.course else "deployment-1"
        login = _Login(None, self.config(deployment_id))
        login.set_lti_message_hint(hint=hint)
        login.set_launch_url(spec.target_link_uri or self.tool_launch_url)
        return login.prepare_preflight_url(spec.person.user_id)

    def authorize(self, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The OIDC auth endpoint: check the tool's request, answer the launch form (url, fields)."""
        if params.get("client_id") != self.client_id:
            raise PlatformError(400, "unauthorized_client", "unknown client_id")
        if params.get("redirect_uri") != self.tool_launch_url:
            raise PlatformError(400, "invalid_request", "redirect_uri is not registered for this tool")
        for name, value in (("scope", "openid"), ("response_type", "id_token"), ("response_mode", "form_post")):
            if params.get(name) != value:
                raise PlatformError(400, "invalid_request", f"{name} must be {value}")
        with self.lock:
            spec = self.hints.pop(params.get("lti_message_hint", ""), None)
        if spec is None or params.get("login_hint") != spec.person.user_id:
            raise PlatformError(400, "invalid_request", "unknown lti_message_hint or login_hint")
        deployment_id = spec.course.deployment_id if spec.course else "deployment-1"
        conf = self.config(deployment_id)
        request = HttpRequest(
            {"method": "GET", "get_data": dict(params), "form_data": {}, "headers": {}, "path": "/auth"}
        )
        launch = _Launch(request, conf)
        self._describe(launch, spec)
        data = launch.lti_launch()
        if spec.claims_hook is not None or spec.message_type != "LtiResourceLinkRequest":
            data["id_token"] = self._resign(data["id_token"], spec)
        return data["launch_url"], {"id_token": data["id_token"], "state": data["state"]}

    def _describe(self, launch: _Launch, spec: LaunchSpec) -> None:
        person = spec.person
        launch.set_user_data(person.user_id, person.roles, person.name, person.email)
        extra: dict[str, Any] = {"given_name": person.given_name, "family_name": person.family_name}
        if spec.course is not None:
            course = spec.course
            launch.set_launch_context_claim(
                course.context_id,
                ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
                course.title,
                course.label,
            )
            launch.set_nrps(f"{self.base_url}/courses/{course.context_id}/memberships")
            lineitems = f"{self.base_url}/courses/{course.context_id}/lineitems"
            launch.set_ags(lineitems, spec.lineitem_url)
        if spec.message_type == "LtiResourceLinkRequest" or spec.message_type == "LtiSubmissionReviewRequest":
            launch.set_resource_link_claim(spec.resource_link_id, title=spec.resource_link_title)
        launch.set_launch_presentation_claim("iframe", f"{self.base_url}/return")
        if spec.custom:
            launch.set_custom_parameters_claim(spec.custom)
        extra.update(self._family_claims(spec))
        launch.set_extra_claims(extra)

    def _family_claims(self, spec: LaunchSpec) -> dict[str, Any]:
        """What Canvas and Moodle add to every launch (as they send it)."""
        tool_platform = {
            "guid": "platform-guid-" + self.family,
            "name": "Test " + self.family.title(),
            "version": "cloud" if self.family == "canvas" else "5.0",
            "product_family_code": self.family if self.family in {"canvas", "moodle"} else "test",
        }
        claims: dict[str, Any] = {"https://purl.imsglobal.org/spec/lti/claim/tool_platform": tool_platform}
        if self.family == "canvas":
            claims["https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id"] = "legacy-" + spec.person.user_id
            claims["https://purl.imsglobal.org/spec/lti/claim/lis"] = {
                "person_sourcedid": "sis-" + spec.person.user_id,
                "course_offering_sourcedid": "sis-" + (spec.course.context_id if spec.course else ""),
            }
            claims["https://www.instructure.com/placement"] = (
                "assignment_selection" if spec.message_type == "LtiDeepLinkingRequest" else None
            )
            claims["locale"] = "en"
        elif self.family == "moodle":
            claims["https://purl.imsglobal.org/spec/lti/claim/ext"] = {
                "user_username": spec.person.email.split("@")[0],
                "lms": "moodle-2",
            }
            claims["https://purl.imsglobal.org/spec/lti/claim/lis"] = {
                "person_sourcedid": "",
                "course_section_sourcedid": "",
            }
        return claims

    def _resign(self, id_token: str, spec: LaunchSpec) -> str:
        """Re-sign after changing the message type or applying a test's claims hook."""
        claims = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
        claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] = spec.message_type
        if spec.message_type == "LtiDeepLinkingRequest":
            claims.pop("https://purl.imsglobal.org/spec/lti/claim/resource_link", None)
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.base_url}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": True,
                "auto_create": True,
                "data": "dl-data-" + secrets.token_hex(4),
            }
        if spec.message_type == "LtiSubmissionReviewRequest" and spec.for_user is not None:
            claims["https://purl.imsglobal.org/spec/lti/claim/for_user"] = {
                "user_id": spec.for_user.user_id,
                "name": spec.for_user.name,
                "roles": spec.for_user.roles,
            }
        if spec.claims_hook is not None:
            claims = spec.claims_hook(claims)
        return self.sign(claims)

    def sign(
        self, claims: dict[str, Any], *, key: PlatformKey | None = None, headers: dict[str, Any] | None = None
    ) -> str:
        return (key or self.signing_key).sign(claims, headers)

    def now(self) -> int:
        return int(time.time())


class PlatformError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def launch_form_html(action: str, fields: dict[str, str]) -> str:
    """The auto-submitting form a platform answers its auth endpoint with (form_post response mode)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    return (
        "<!doctype html><html><body>"
        f'<form id="lti-launch" method="post" action="{html.escape(action)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        "<script>document.getElementById('lti-launch').submit();</script></body></html>"
    )


def login_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)
