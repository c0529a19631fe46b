"""An admin registers the tool from inside the platform's dialog, in a real browser."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from lms_tool.lti.models import Registration
from lms_tool.sandbox.platform import Platform

from ..browser import wait_shown

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("family", ["canvas", "moodle"])
def test_the_registration_dialog_registers_and_closes(page, platform_server, tool_url, settings, family):
    settings.LTI_DEV_ALLOW_HTTP = True
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    platform = Platform(
        base_url=platform_server.base_url,
        tool_login_url="",
        tool_launch_url="",
        tool_jwks_url="",
        family=family,
        issuer=platform_server.base_url,
    )
    platform_server.platform = platform
    page.goto(f"{platform.base_url}/admin/register-tool?tool={quote(tool_url + '/lti/register/')}")
    dialog = page.frame_locator("#registration")

    dialog.get_by_test_id("register").click()
    wait_shown(page, "registration", dialog.get_by_test_id("registered"))
    dialog.get_by_test_id("close").click()
    wait_shown(page, "", page.locator("body[data-closed=yes]"))

    registration = Registration.objects.get()
    assert registration.client_id == platform.client_id
    assert registration.family == family
