"""An admin registers the tool from inside the platform's dialog, in a real browser: with an invitation a
tool admin created in the Django admin (active at once), or without one (pending until approved there)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from lms_tool.lti.models import Registration, RegistrationInvitation
from lms_tool.sandbox.platform import Platform

from ..browser import wait_shown

pytestmark = pytest.mark.e2e
PASSWORD = "a long sandbox password"


@pytest.fixture
def unregistered(platform_server, tool_url, settings, request) -> Platform:  # type: ignore[no-untyped-def]
    settings.LTI_DEV_ALLOW_HTTP = True
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    platform = Platform(
        base_url=platform_server.base_url,
        tool_login_url="",
        tool_launch_url="",
        tool_jwks_url="",
        family=request.param,
        issuer=platform_server.base_url,
    )
    platform_server.platform = platform
    return platform


def _admin_login(page: Any, tool_url: str, django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("ops", "ops@example.edu", PASSWORD)
    page.goto(f"{tool_url}/admin/login/?next=/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    wait_shown(page, "", page.locator("#user-tools"))


def _register_in_dialog(page: Any, platform: Platform, registration_url: str, *, notice: str) -> Any:
    """The platform admin pastes the URL; the platform opens the tool's page in its dialog."""
    page.goto(f"{platform.base_url}/admin/register-tool?tool={quote(registration_url)}")
    dialog = page.frame_locator("#registration")
    wait_shown(page, "registration", dialog.get_by_test_id(notice))
    dialog.get_by_test_id("register").click()
    wait_shown(page, "registration", dialog.get_by_test_id("registered"))
    return dialog


def _close(page: Any, dialog: Any) -> None:
    dialog.get_by_test_id("close").click()
    wait_shown(page, "", page.locator("body[data-closed=yes]"))


@pytest.mark.parametrize("unregistered", ["canvas", "moodle"], indirect=True)
def test_an_invitation_from_the_admin_registers_the_tool_at_once(page, unregistered, tool_url, django_user_model):
    platform = unregistered
    _admin_login(page, tool_url, django_user_model)
    page.goto(f"{tool_url}/admin/lti/registrationinvitation/add/")
    page.fill("#id_label", "Springfield HS")
    page.click("input[name=_save]")
    link = page.get_by_test_id("invitation-url")
    wait_shown(page, "", link)
    url = link.input_value()
    assert url.startswith(f"{tool_url}/lti/register/") and url.endswith("/")

    dialog = _register_in_dialog(page, platform, url, notice="invited")

    assert dialog.get_by_test_id("pending-approval").count() == 0
    _close(page, dialog)
    registration = Registration.objects.get()
    assert (registration.client_id, registration.family) == (platform.client_id, platform.family)
    assert (registration.is_active, registration.pending_approval) == (True, False)
    assert RegistrationInvitation.objects.get().registration == registration


@pytest.mark.parametrize("unregistered", ["canvas", "moodle"], indirect=True)
def test_an_uninvited_registration_waits_until_the_admin_approves_it(page, unregistered, tool_url, django_user_model):
    platform = unregistered
    dialog = _register_in_dialog(page, platform, f"{tool_url}/lti/register/", notice="approval-needed")
    wait_shown(page, "registration", dialog.get_by_test_id("pending-approval"))
    _close(page, dialog)
    registration = Registration.objects.get()
    assert (registration.client_id, registration.is_active, registration.pending_approval) == (
        platform.client_id,
        False,
        True,
    )

    _admin_login(page, tool_url, django_user_model)
    page.goto(f"{tool_url}/admin/lti/registration/?pending_approval__exact=1")
    page.check(f"input[name=_selected_action][value='{registration.pk}']")
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    wait_shown(page, "", page.get_by_text("it launches from now on"))

    registration.refresh_from_db()
    assert (registration.is_active, registration.pending_approval) == (True, False)
