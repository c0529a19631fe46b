"""LTI Dynamic Registration against a platform that registers tools the Canvas way and the Moodle way.

Invitations, approval and the refusal to touch an existing registration: tests/lti/test_invitations.py."""

from __future__ import annotations

import re
import socket

import pytest
import requests

from lms_tool.core.models import AuditEvent
from lms_tool.lti import registry, tool_config
from lms_tool.lti.models import Deployment, Registration
from lms_tool.sandbox import registration as platform_registration
from lms_tool.sandbox.platform import LaunchSpec, Platform
from lms_tool.sandbox.server import PlatformServer

from .flow import error_code, launch

CANVAS_PLACEMENT_KEY = "https://canvas.instructure.com/lti/"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@pytest.fixture(autouse=True)
def _development(settings):  # type: ignore[no-untyped-def]
    """The sandbox platform is plain HTTP on 127.0.0.1: allowed only in development."""
    settings.LTI_DEV_ALLOW_HTTP = True
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


def _platform(server: PlatformServer, tool_url: str, family: str) -> Platform:
    platform = Platform(
        base_url=server.base_url,
        tool_login_url="",
        tool_launch_url="",
        tool_jwks_url="",
        client_id="not-registered-yet",
        family=family,
        issuer=server.base_url,
    )
    server.platform = platform
    return platform


@pytest.fixture(params=["canvas", "moodle"])
def unregistered(request, platform_server, tool_url) -> Platform:  # type: ignore[no-untyped-def]
    return _platform(platform_server, tool_url, request.param)


@pytest.fixture
def canvas_unregistered(platform_server, tool_url) -> Platform:  # type: ignore[no-untyped-def]
    return _platform(platform_server, tool_url, "canvas")


@pytest.fixture
def moodle_unregistered(platform_server, tool_url) -> Platform:  # type: ignore[no-untyped-def]
    return _platform(platform_server, tool_url, "moodle")


def register_url(tool_url: str, invitation: str | None = None) -> str:
    return f"{tool_url}/lti/register/" + (f"{invitation}/" if invitation else "")


def invite(label: str = "Test University") -> str:
    return registry.invitation_create(label=label, created_by="ops@example.edu")[1]


def _open(
    platform: Platform, tool_url: str, *, token: str | None = None, invitation: str | None = None
) -> requests.Response:
    url = platform_registration.start_url(platform, register_url(tool_url, invitation), token=token)
    return requests.get(url, timeout=10, headers={"User-Agent": "PlatformAdminBrowser/1.0"})


def _submit(tool_url: str, confirm: requests.Response) -> requests.Response:
    pending = re.search(r'name="pending" value="([^"]+)"', confirm.text)
    action = re.search(r'<form method="post" action="([^"]+)"', confirm.text)
    assert pending and action, confirm.text[:1000]
    return requests.post(
        tool_url + action.group(1),
        data={"pending": pending.group(1)},
        timeout=10,
        headers={"User-Agent": "PlatformAdminBrowser/1.0"},
    )


def _register(
    platform: Platform, tool_url: str, *, token: str | None = None, invitation: str | None = None
) -> requests.Response:
    confirm = _open(platform, tool_url, token=token, invitation=invitation)
    assert confirm.status_code == 200, confirm.text[:1000]
    return _submit(tool_url, confirm)


def _sent(platform: Platform) -> dict:
    return platform_registration.state(platform).received[-1]


def test_it_shows_the_admin_what_will_be_registered(unregistered, tool_url):
    confirm = _open(unregistered, tool_url)

    assert confirm.status_code == 200, confirm.text
    assert "Register the tool" in confirm.text
    for label in tool_config.SCOPE_LABELS.values():
        assert label.replace("'", "&#x27;") in confirm.text
    assert "Email address" in confirm.text and "Full name" in confirm.text
    assert "LtiDeepLinkingRequest" in confirm.text
    assert Registration.objects.count() == 0


def test_it_registers_with_canvas_the_canvas_way(canvas_unregistered, tool_url):
    platform = canvas_unregistered
    done = _register(platform, tool_url)

    assert done.status_code == 200, done.text
    assert 'data-testid="registered"' in done.text
    registration = Registration.objects.get()
    assert (registration.issuer, registration.family) == (platform.issuer, "canvas")
    assert registration.client_id == platform.client_id  # the platform's answer, now in use
    assert (registration.auth_login_url, registration.auth_token_url, registration.key_set_url) == (
        platform.auth_url,
        platform.token_url,
        platform.jwks_url,
    )
    assert sorted(registration.scopes) == sorted(tool_config.REQUESTED_SCOPES)
    assert not Deployment.objects.exists()  # Canvas's answer has none: they arrive with launches
    assert "Test University" in registration.name
    body = _sent(platform)
    lti = body[TOOL_CONFIGURATION]
    placements = {(m["type"], p) for m in lti["messages"] for p in m["placements"]}
    assert placements == {
        ("LtiResourceLinkRequest", "course_navigation"),
        ("LtiDeepLinkingRequest", "assignment_selection"),
        ("LtiDeepLinkingRequest", "link_selection"),
    }
    assert lti[CANVAS_PLACEMENT_KEY + "privacy_level"] == "public"
    assert lti["custom_parameters"]["canvas_user_sisid"] == "$Canvas.user.sisid"
    assert body["redirect_uris"] == [f"{tool_url}/lti/launch/"]
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert "canvas-review" in done.text
    # Nobody vouched for this platform: it waits for a tool admin (tests/lti/test_invitations.py).
    assert (registration.is_active, registration.pending_approval) == (False, True)
    assert 'data-testid="pending-approval"' in done.text
    audit = AuditEvent.objects.get(action="registration.dynamic")
    assert (audit.actor_type, audit.actor_id, audit.source) == (
        "unauthenticated",
        "",
        platform_registration.config_url(platform),
    )
    assert (audit.address, audit.user_agent) == ("127.0.0.0/24", "PlatformAdminBrowser/1.0")


def test_the_platform_registered_with_an_invitation_can_launch_the_tool(unregistered, tool_url, student):
    platform = unregistered
    done = _register(platform, tool_url, invitation=invite())
    assert done.status_code == 200, done.text
    deployment = Deployment.objects.first()
    course = platform.add_course("course-9", deployment_id=deployment.deployment_id if deployment else "dep-new")
    platform.enrol(course, student)

    response = launch(platform, LaunchSpec(student, course))

    assert response.status_code == 200, response.text
    assert "/lti/activity/" in response.url


def test_it_registers_with_moodle_the_moodle_way(moodle_unregistered, tool_url):
    platform = moodle_unregistered
    done = _register(platform, tool_url)

    assert done.status_code == 200, done.text
    registration = Registration.objects.get()
    assert registration.family == "moodle"
    deployment = Deployment.objects.get(registration=registration)
    assert deployment.deployment_id == re.search(r'data-testid="deployment-id">([^<]+)<', done.text).group(1)
    assert "pending until you activate it" in done.text
    body = _sent(platform)
    messages = body[TOOL_CONFIGURATION]["messages"]
    assert {m["type"] for m in messages} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    assert all("placements" not in m for m in messages)  # Canvas placements mean nothing to Moodle
    assert set(body["scope"].split()) == set(tool_config.REQUESTED_SCOPES)


def test_the_page_closes_with_the_lti_close_message(unregistered, tool_url):
    done = _register(unregistered, tool_url)
    script = re.search(r'<script src="([^"]+registration[^"]*\.js)"', done.text)

    assert script, done.text
    js = requests.get(tool_url + script.group(1), timeout=10).text
    assert "org.imsglobal.lti.close" in js and "postMessage" in js


def test_it_shows_and_records_scopes_the_canvas_admin_trimmed(canvas_unregistered, tool_url):
    trimmed = [tool_config.SCOPE_LINEITEM, tool_config.SCOPE_NRPS]
    platform_registration.state(canvas_unregistered).faults["trim_scopes"] = trimmed

    done = _register(canvas_unregistered, tool_url)

    assert done.status_code == 200, done.text
    assert 'data-testid="trimmed"' in done.text
    assert tool_config.SCOPE_NRPS in done.text
    assert sorted(Registration.objects.get().scopes) == sorted(set(tool_config.REQUESTED_SCOPES) - set(trimmed))


def test_a_spanish_platform_admin_reads_the_services_and_placements_in_spanish(canvas_unregistered, tool_url):
    # docs/translation.md: the labels come from Python (tool_config) and follow Accept-Language; what the tool
    # sends the platform (its description and menu labels) stays English.
    platform_registration.state(canvas_unregistered).faults["trim_scopes"] = [tool_config.SCOPE_NRPS]
    spanish = {"User-Agent": "PlatformAdminBrowser/1.0", "Accept-Language": "es"}
    url = platform_registration.start_url(canvas_unregistered, register_url(tool_url))

    confirm = requests.get(url, timeout=10, headers=spanish)
    pending = re.search(r'name="pending" value="([^"]+)"', confirm.text)
    action = re.search(r'<form method="post" action="([^"]+)"', confirm.text)
    assert pending and action, confirm.text[:1000]
    done = requests.post(tool_url + action.group(1), data={"pending": pending.group(1)}, timeout=10, headers=spanish)

    for words in (
        "Leer la lista de participantes del curso (Names and Role Provisioning)",
        "Enviar puntuaciones al libro de calificaciones (puntuaciones de AGS)",
        "Correo electrónico",
        "Nombre completo",
        "Cuestionarios y tarjetas",
        "Añadir un cuestionario o un mazo de tarjetas con IA",
        "Navegación del curso",
        "Selección de tareas, Selección de enlaces",
        "Cuestionarios generados con IA y tarjetas de estudio",
    ):
        assert words in confirm.text, words
    for english in ("Read the course roster", "Email address", "Full name", "Add an AI quiz", "course_navigation"):
        assert english not in confirm.text, english
    assert "Enviar puntuaciones al libro de calificaciones (puntuaciones de AGS)" in done.text  # granted
    assert "Leer la lista de participantes del curso" in done.text  # trimmed by the platform
    lti = _sent(canvas_unregistered)[TOOL_CONFIGURATION]
    assert lti["description"] == tool_config.DESCRIPTION and lti["description"].startswith("AI-generated")
    assert {m["label"] for m in lti["messages"]} == {"Quizzes & Flashcards", "Add an AI quiz or flashcard deck"}


def test_it_does_not_assume_scopes_the_answer_does_not_name(canvas_unregistered, tool_url):
    platform_registration.state(canvas_unregistered).faults["no_scope"] = True

    done = _register(canvas_unregistered, tool_url)

    assert 'data-testid="scopes-unknown"' in done.text
    assert Registration.objects.get().scopes == []


def test_a_reused_moodle_token_is_refused_and_nothing_more_is_written(moodle_unregistered, tool_url):
    token = platform_registration.issue_token(moodle_unregistered)
    assert _register(moodle_unregistered, tool_url, token=token).status_code == 200

    again = _register(moodle_unregistered, tool_url, token=token)

    assert again.status_code == 502
    assert error_code(again) == "registration_token_refused"
    assert "already used or has expired" in again.text
    assert Registration.objects.count() == 1 and Deployment.objects.count() == 1


def test_a_double_submitted_page_registers_once(canvas_unregistered, tool_url):
    confirm = _open(canvas_unregistered, tool_url)
    assert _submit(tool_url, confirm).status_code == 200

    again = _submit(tool_url, confirm)

    assert again.status_code == 410
    assert error_code(again) == "registration_expired"
    assert Registration.objects.count() == 1


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("500", "config_http_error"),
        ("not-json", "config_not_json"),
        ("incomplete", "config_incomplete"),
        ("wrong-issuer", "config_issuer_mismatch"),
    ],
)
def test_a_bad_configuration_ends_with_a_page_saying_what_failed(unregistered, tool_url, fault, code):
    platform_registration.state(unregistered).faults["config"] = fault

    response = _open(unregistered, tool_url)

    assert response.status_code in (400, 502)
    assert error_code(response) == code
    assert 'name="pending"' not in response.text
    assert Registration.objects.count() == 0


def test_the_issuer_mismatch_names_both_addresses(canvas_unregistered, tool_url):
    platform_registration.state(canvas_unregistered).faults["config"] = "wrong-issuer"

    response = _open(canvas_unregistered, tool_url)

    assert "https://canvas.instructure.com" in response.text and canvas_unregistered.base_url in response.text


def test_canvas_configuration_needs_the_registration_token(canvas_unregistered, tool_url):
    response = _open(canvas_unregistered, tool_url, token="")

    assert response.status_code == 502
    assert error_code(response) == "config_http_error"
    assert "HTTP 401" in response.text


def test_a_plain_http_configuration_is_refused_outside_development(unregistered, tool_url, settings):
    settings.LTI_DEV_ALLOW_HTTP = False

    response = _open(unregistered, tool_url)

    assert response.status_code == 400
    assert error_code(response) == "config_url_insecure"
    assert "HTTPS" in response.text
    assert platform_registration.state(unregistered).received == []


def test_a_private_address_is_refused(unregistered, tool_url, settings):
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []

    response = _open(unregistered, tool_url)

    assert error_code(response) == "config_unreachable"
    assert "HTTP_ALLOWED_PRIVATE_HOSTS" in response.text  # what an admin of an intranet platform must do
    assert ("GET", "/api/lti/security/openid-configuration") not in unregistered.requests_seen
    assert ("GET", "/mod/lti/openid-configuration.php") not in unregistered.requests_seen
    assert Registration.objects.count() == 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_private_address_and_a_closed_port_give_the_same_page(tool_url, db, settings, caplog):
    # Otherwise the registration page would map the tool's network: which private hosts and ports answer.
    url = f"http://127.0.0.1:{_closed_port()}/.well-known/openid-configuration"

    def page() -> tuple[int, str]:
        query = {"openid_configuration": url, "registration_token": "t"}
        response = requests.get(register_url(tool_url), params=query, timeout=10)
        # The only difference allowed: the random reference that finds the log line.
        return response.status_code, re.sub(
            r'(error-code">[^<]*</span> · <span class="mono">)\w+', r"\1", response.text
        )

    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    blocked = page()
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    closed = page()

    assert blocked == closed
    assert blocked[0] == 502 and 'data-testid="error-code">config_unreachable<' in blocked[1]
    assert "BlockedAddressError" in caplog.text and "ConnectionError" in caplog.text  # the log tells them apart
    assert Registration.objects.count() == 0


def test_an_unreachable_platform_is_explained(tool_url, db):
    url = f"{tool_url}/lti/register/?openid_configuration=http://127.0.0.1:1/config&registration_token=t"

    response = requests.get(url, timeout=10)

    assert response.status_code == 502
    assert error_code(response) == "config_unreachable"
    assert Registration.objects.count() == 0


def test_a_link_without_configuration_is_explained(tool_url, db):
    response = requests.get(f"{tool_url}/lti/register/", timeout=10)

    assert response.status_code == 400
    assert error_code(response) == "config_url_missing"


@pytest.mark.parametrize(
    ("fault", "code"),
    [("400", "registration_refused"), ("500", "registration_refused"), ("no-client-id", "registration_bad_answer")],
)
def test_a_refused_registration_leaves_nothing_behind(unregistered, tool_url, fault, code):
    platform_registration.state(unregistered).faults["register"] = fault

    response = _register(unregistered, tool_url)

    assert response.status_code == 502
    assert error_code(response) == code
    assert Registration.objects.count() == 0 and Deployment.objects.count() == 0


def test_a_failure_while_storing_rolls_everything_back(moodle_unregistered, tool_url, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("lms_tool.lti.dynamic_registration.audit_record", broken_audit)

    response = _register(moodle_unregistered, tool_url)

    assert response.status_code == 500
    assert Registration.objects.count() == 0 and Deployment.objects.count() == 0


def test_scopes_the_platform_does_not_offer_are_not_requested(canvas_unregistered, tool_url):
    def without_nrps(config):
        config["scopes_supported"] = [s for s in config["scopes_supported"] if s != tool_config.SCOPE_NRPS]
        return config

    platform_registration.state(canvas_unregistered).config_edit = without_nrps

    confirm = _open(canvas_unregistered, tool_url)
    _submit(tool_url, confirm)

    assert 'data-testid="not-offered"' in confirm.text
    assert tool_config.SCOPE_NRPS not in _sent(canvas_unregistered)["scope"].split()


def test_scopes_turned_off_after_registration_are_noticed_at_the_next_launch(canvas_unregistered, tool_url, student):
    platform = canvas_unregistered
    assert _register(platform, tool_url, invitation=invite()).status_code == 200
    course = platform.add_course("course-9", deployment_id="dep-1")
    platform.enrol(course, student)
    still_on = [tool_config.SCOPE_SCORE, tool_config.SCOPE_RESULT_READONLY]

    def trimmed(claims: dict) -> dict:
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["scope"] = still_on
        claims.pop("https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice")
        return claims

    response = launch(platform, LaunchSpec(student, course, claims_hook=trimmed))

    assert response.status_code == 200, response.text
    assert Registration.objects.get().scopes == sorted(still_on)


def test_a_registration_endpoint_on_a_private_address_is_refused(canvas_unregistered, tool_url):
    def private_endpoint(config):
        return {**config, "registration_endpoint": "http://localhost:1/api/lti/registrations"}

    platform_registration.state(canvas_unregistered).config_edit = private_endpoint

    response = _register(canvas_unregistered, tool_url)

    assert error_code(response) == "registration_unreachable"
    assert Registration.objects.count() == 0


# Long values (PostgreSQL enforces column lengths; run with DATABASE_URL to check there) -----------
def _long_config_url(platform: Platform, length: int) -> str:
    url = platform_registration.config_url(platform) + "?account=springfield-unified-school-district&pad="
    return url + "x" * (length - len(url))


def test_a_long_configuration_url_and_long_ids_register(moodle_unregistered, tool_url):
    platform = moodle_unregistered
    config_url = _long_config_url(platform, 400)
    faults = platform_registration.state(platform).faults
    faults["client_id"], faults["deployment_id"] = "c" * 255, "d" * 255
    query = {"openid_configuration": config_url, "registration_token": platform_registration.issue_token(platform)}
    confirm = requests.get(register_url(tool_url, invite()), params=query, timeout=10)
    assert confirm.status_code == 200, confirm.text[:500]

    done = _submit(tool_url, confirm)

    assert done.status_code == 200, done.text[:500]
    registration = Registration.objects.get()
    assert (registration.client_id, registration.deployments.get().deployment_id) == ("c" * 255, "d" * 255)
    assert AuditEvent.objects.get(action="registration.dynamic").source == config_url


def test_an_over_long_client_id_is_explained_and_nothing_is_written(canvas_unregistered, tool_url):
    platform_registration.state(canvas_unregistered).faults["client_id"] = "c" * 256

    response = _register(canvas_unregistered, tool_url)

    assert response.status_code == 502
    assert error_code(response) == "registration_invalid"
    assert "longer than 255 characters" in response.text
    assert Registration.objects.count() == 0
    assert AuditEvent.objects.get(action="registration.dynamic_refused").after["code"] == "registration_invalid"


def test_a_configuration_url_longer_than_the_tool_keeps_is_refused(canvas_unregistered, tool_url):
    query = {"openid_configuration": _long_config_url(canvas_unregistered, 2049), "registration_token": "t"}

    response = requests.get(register_url(tool_url), params=query, timeout=10)

    assert response.status_code == 400
    assert error_code(response) == "config_url_too_long"
    assert canvas_unregistered.requests_seen == []


@pytest.mark.parametrize(
    "url",
    ["http://admin@127.0.0.1:1/config", "http://127.0.0.1:1\\@example.edu/config", "javascript:alert(1)"],
)
def test_a_configuration_url_that_reads_two_ways_is_refused(tool_url, db, url):
    response = requests.get(register_url(tool_url), params={"openid_configuration": url}, timeout=10)

    assert response.status_code == 400
    assert error_code(response) == "config_url_insecure"
    assert Registration.objects.count() == 0
