"""Who may register the tool: Dynamic Registration never changes an existing registration; an invitation
(single use, expiring, revocable) makes a new one active at once; without one it waits for a tool admin."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from lms_tool.core.models import AuditEvent
from lms_tool.lti import registry
from lms_tool.lti.models import Deployment, Registration, RegistrationInvitation
from lms_tool.sandbox import registration as platform_registration
from lms_tool.sandbox.platform import LaunchSpec, Platform

from .flow import error_code, launch
from .test_dynamic_registration import _open, _platform, _register, _submit, invite

VICTIM_URLS = {
    "auth_login_url": "https://victim.example.edu/api/lti/authorize_redirect",
    "auth_token_url": "https://victim.example.edu/login/oauth2/token",
    "key_set_url": "https://victim.example.edu/api/lti/security/jwks",
}


@pytest.fixture(autouse=True)
def _development(settings):  # type: ignore[no-untyped-def]
    settings.LTI_DEV_ALLOW_HTTP = True
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture(params=["canvas", "moodle"])
def newcomer(request, platform_server, tool_url) -> Platform:  # type: ignore[no-untyped-def]
    return _platform(platform_server, tool_url, request.param)


@pytest.fixture
def canvas_newcomer(platform_server, tool_url) -> Platform:  # type: ignore[no-untyped-def]
    return _platform(platform_server, tool_url, "canvas")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("lti_invitation", *args, stdout=out)
    return out.getvalue()


def _fields(registration: Registration) -> tuple:
    registration.refresh_from_db()
    return (
        registration.auth_login_url,
        registration.auth_token_url,
        registration.key_set_url,
        registration.is_active,
        registration.pending_approval,
        registration.name,
        registration.family,
    )


# The finding: anyone could take over a registration -------------------------------------------------
@pytest.mark.parametrize("victim_active", [True, False])
@pytest.mark.parametrize("invited", [False, True])
def test_a_dynamic_registration_naming_an_existing_issuer_and_client_changes_nothing(
    canvas_newcomer, tool_url, victim_active, invited
):
    attacker = canvas_newcomer
    victim, _ = registry.registration_upsert(
        issuer=attacker.issuer,
        client_id="10000000000042",
        **VICTIM_URLS,
        family="canvas",
        name="Canvas: Springfield HS",
        deployment_ids=["dep-1"],
        actor="ops@example.edu",
    )
    if not victim_active:
        Registration.objects.filter(pk=victim.pk).update(is_active=False)
    before = _fields(victim)
    invitation = invite("Shelbyville") if invited else None
    # The attacker's platform answers with the victim's client id.
    platform_registration.state(attacker).faults["client_id"] = "10000000000042"

    refused = _register(attacker, tool_url, invitation=invitation)

    assert refused.status_code == 409
    assert error_code(refused) == "registration_exists"
    assert "ask the tool&#x27;s administrator" in refused.text
    assert _fields(victim) == before
    assert Registration.objects.count() == 1 and Deployment.objects.count() == 1
    assert not AuditEvent.objects.filter(action__in=["registration.dynamic", "registration.update"]).exists()
    line = AuditEvent.objects.get(action="registration.dynamic_refused")
    assert line.actor_type == ("invitation" if invited else "unauthenticated")
    assert (line.address, line.user_agent) == ("127.0.0.0/24", "PlatformAdminBrowser/1.0")
    assert line.source == platform_registration.config_url(attacker)
    assert line.after["code"] == "registration_exists"
    if invited:  # a refused registration does not use the invitation up
        assert RegistrationInvitation.objects.get().used_at is None


# Invitations --------------------------------------------------------------------------------------
def test_an_invitation_registers_at_once_and_is_used_up(newcomer, tool_url, student):
    token = invite("Springfield HS")
    confirm = _open(newcomer, tool_url, invitation=token)
    assert 'data-testid="invited"' in confirm.text and "Springfield HS" in confirm.text

    done = _submit(tool_url, confirm)

    assert done.status_code == 200, done.text
    assert 'data-testid="pending-approval"' not in done.text
    registration = Registration.objects.get()
    assert (registration.is_active, registration.pending_approval) == (True, False)
    invitation = RegistrationInvitation.objects.get()
    assert invitation.registration == registration and invitation.used_at is not None
    line = AuditEvent.objects.get(action="registration.dynamic")
    assert (line.actor_type, line.actor_id) == ("invitation", str(invitation.pk))
    deployment = Deployment.objects.first()
    course = newcomer.add_course("course-9", deployment_id=deployment.deployment_id if deployment else "dep-1")
    newcomer.enrol(course, student)
    assert launch(newcomer, LaunchSpec(student, course)).status_code == 200


def test_an_invitation_registers_only_once(canvas_newcomer, tool_url):
    token = invite()
    assert _register(canvas_newcomer, tool_url, invitation=token).status_code == 200

    again = _open(canvas_newcomer, tool_url, invitation=token)

    assert again.status_code == 410
    assert error_code(again) == "invitation_used"
    assert "already used" in again.text
    assert Registration.objects.count() == 1


def test_two_pages_opened_with_one_invitation_register_once(canvas_newcomer, tool_url):
    token = invite()
    first = _open(canvas_newcomer, tool_url, invitation=token)
    second = _open(canvas_newcomer, tool_url, invitation=token)
    assert _submit(tool_url, first).status_code == 200
    sent = len(platform_registration.state(canvas_newcomer).received)

    late = _submit(tool_url, second)

    assert late.status_code == 410
    assert error_code(late) == "invitation_used"
    assert Registration.objects.count() == 1
    assert len(platform_registration.state(canvas_newcomer).received) == sent  # the platform was not asked


def test_an_expired_invitation_is_refused_before_the_platform_is_read(canvas_newcomer, tool_url):
    token = invite()
    RegistrationInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = _open(canvas_newcomer, tool_url, invitation=token)

    assert response.status_code == 410
    assert error_code(response) == "invitation_expired"
    assert "has expired" in response.text
    assert not any(path.endswith("openid-configuration") for _, path in canvas_newcomer.requests_seen)
    assert Registration.objects.count() == 0


def test_a_revoked_invitation_is_refused(canvas_newcomer, tool_url):
    token = invite()
    confirm = _open(canvas_newcomer, tool_url, invitation=token)
    _run("revoke", str(RegistrationInvitation.objects.get().pk))

    on_submit = _submit(tool_url, confirm)
    on_open = _open(canvas_newcomer, tool_url, invitation=token)

    assert (on_submit.status_code, error_code(on_submit)) == (410, "invitation_revoked")
    assert (on_open.status_code, error_code(on_open)) == (410, "invitation_revoked")
    assert "withdrawn" in on_open.text
    assert Registration.objects.count() == 0
    assert platform_registration.state(canvas_newcomer).received == []
    assert AuditEvent.objects.filter(action="invitation.revoke", actor_id="cli").count() == 1


def test_an_unknown_invitation_is_refused(canvas_newcomer, tool_url):
    invite()

    response = _open(canvas_newcomer, tool_url, invitation="not-the-token")

    assert response.status_code == 404
    assert error_code(response) == "invitation_unknown"
    assert Registration.objects.count() == 0


def test_the_command_prints_a_url_that_registers_once(canvas_newcomer, tool_url):
    output = _run("create", "--label", "Springfield HS", "--days", "3", "--base-url", tool_url)
    url = re.search(r"^(http\S+/lti/register/\S+/)$", output, re.M).group(1)
    token = url.rstrip("/").rsplit("/", 1)[1]
    invitation = RegistrationInvitation.objects.get()
    assert token not in invitation.token_hash and invitation.token_hash == registry.invitation_hash(token)
    assert timedelta(days=2, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=3)
    assert "open" in _run("list", "--open")

    # The platform appends its query to the pasted URL; the invitation is in the path, so it survives.
    done = _submit(tool_url, requests.get(platform_registration.start_url(canvas_newcomer, url), timeout=10))

    assert done.status_code == 200, done.text
    assert Registration.objects.get().is_active
    assert "used" in _run("list") and _run("list", "--open").strip() == "No invitations."
    with pytest.raises(CommandError, match="No unused invitation"):
        _run("revoke", str(invitation.pk))


def test_the_command_refuses_an_invitation_longer_than_90_days(db):
    with pytest.raises(CommandError, match="1 to 90 days"):
        _run("create", "--label", "x", "--days", "365")
    assert RegistrationInvitation.objects.count() == 0


def test_the_admin_add_form_shows_the_url_once(admin_client):
    page = admin_client.post("/admin/lti/registrationinvitation/add/", {"label": "Springfield HS", "days": "7"})

    assert page.status_code == 200
    url = re.search(r'value="([^"]+/lti/register/[^"]+/)" data-testid="invitation-url"', page.content.decode())
    assert url, page.content.decode()[:2000]
    token = url.group(1).rstrip("/").rsplit("/", 1)[1]
    invitation = RegistrationInvitation.objects.get()
    assert (invitation.label, invitation.created_by) == ("Springfield HS", "admin")
    assert invitation.token_hash == registry.invitation_hash(token)
    listing = admin_client.get("/admin/lti/registrationinvitation/").content.decode()
    detail = admin_client.get(f"/admin/lti/registrationinvitation/{invitation.pk}/change/").content.decode()
    assert "Springfield HS" in listing and token not in listing and token not in detail
    line = AuditEvent.objects.get(action="invitation.create")
    assert (line.actor_type, line.actor_id) == ("admin", "admin")


def test_the_admin_revokes_invitations(admin_client):
    invitation, _ = registry.invitation_create(label="Springfield HS", created_by="ops")

    admin_client.post(
        "/admin/lti/registrationinvitation/", {"action": "revoke", "_selected_action": [str(invitation.pk)]}
    )

    invitation.refresh_from_db()
    assert invitation.status() == "revoked"


# Without an invitation: pending until a tool admin approves --------------------------------------
def test_a_pending_registration_refuses_launches_until_an_admin_approves_it(newcomer, tool_url, student, admin_client):
    done = _register(newcomer, tool_url)
    assert 'data-testid="pending-approval"' in done.text
    registration = Registration.objects.get()
    assert (registration.is_active, registration.pending_approval) == (False, True)
    deployment = Deployment.objects.first()
    course = newcomer.add_course("course-9", deployment_id=deployment.deployment_id if deployment else "dep-1")
    newcomer.enrol(course, student)

    refused = requests.get(newcomer.login_initiation_url(LaunchSpec(student, course)), timeout=10)

    assert refused.status_code == 403
    assert error_code(refused) == "registration_pending"
    assert "not approved it yet" in refused.text

    admin_client.post("/admin/lti/registration/", {"action": "approve", "_selected_action": [str(registration.pk)]})

    registration.refresh_from_db()
    assert (registration.is_active, registration.pending_approval) == (True, False)
    line = AuditEvent.objects.get(action="registration.approve")
    assert (line.actor_type, line.actor_id) == ("admin", "admin")
    assert launch(newcomer, LaunchSpec(student, course)).status_code == 200


def test_approving_an_active_registration_changes_nothing(admin_client, db):
    registration, _ = registry.registration_upsert(
        issuer="https://canvas.instructure.com", client_id="1", **VICTIM_URLS, actor="ops"
    )

    page = admin_client.post(
        "/admin/lti/registration/", {"action": "approve", "_selected_action": [str(registration.pk)]}, follow=True
    )

    assert "did not await approval" in page.content.decode()
    assert not AuditEvent.objects.filter(action="registration.approve").exists()


def test_open_self_service_registers_active_without_an_invitation(canvas_newcomer, tool_url, settings):
    settings.LTI_DYNAMIC_REGISTRATION_OPEN = True

    done = _register(canvas_newcomer, tool_url)

    assert done.status_code == 200 and 'data-testid="pending-approval"' not in done.text
    assert Registration.objects.get().is_active
    assert AuditEvent.objects.get(action="registration.dynamic").actor_type == "unauthenticated"
