"""A student's launch inside a platform's cross-site iframe, with third-party cookies blocked.

The test platform's course page is on 127.0.0.1 and the tool on localhost: different sites, so the
tool is a third-party iframe and its cookies are not kept. The login and launch then go through
LTI Platform Storage (postMessages to the platform), or, where the platform offers none, through
a new window the student opens.
"""

from __future__ import annotations

from typing import Any

import pytest

from lms_tool.lti.models import Membership

from ..browser import wait_shown

pytestmark = pytest.mark.e2e


def _embed(platform: Any, storage: str) -> str:
    return f"{platform.base_url}/course/course-101/embed?user=student-1&storage={storage}"


def _tool_requests(page: Any, tool_url: str) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda request: seen.append(request.method + " " + request.url) if request.url.startswith(tool_url) else None,
    )
    return seen


@pytest.mark.parametrize("storage", ["forwarding", "parent"])
def test_a_framed_launch_completes_through_platform_storage(page, context, canvas, course, student, tool_url, storage):
    seen = _tool_requests(page, tool_url)

    page.goto(_embed(canvas, storage))
    wait_shown(page, "tool", page.frame_locator("#tool").locator('[data-view="learner"]'))

    assert f"POST {tool_url}/lti/launch/complete/" in seen  # the state came back from the platform
    # Refused in the iframe (third-party; and over plain HTTP the tool's cookie is SameSite=Lax).
    assert context.cookies(tool_url) == []
    assert Membership.objects.filter(user__sub="student-1", is_active=True).exists()
    frame = page.frame(name="tool")
    assert "/lti/activity/?launch=" in frame.url


def test_without_storage_or_cookies_the_student_continues_in_a_new_window(
    page, context, canvas, course, student, tool_url
):
    page.goto(_embed(canvas, "silent"))  # sends lti_storage_target but answers no postMessage
    button = page.frame_locator("#tool").get_by_test_id("open-new-window")
    wait_shown(page, "tool", button)

    with context.expect_page() as opened:
        button.click()
    window = opened.value
    wait_shown(window, "", window.locator('[data-view="learner"]'))

    assert "/lti/activity/?launch=" in window.url
    assert window.url.startswith(tool_url)


def test_a_framed_cookie_only_launch_fails_with_a_readable_page(page, canvas, course, student):
    """Why the above exists: without storage, a blocked cookie leaves the state unverifiable."""
    page.goto(_embed(canvas, "off"))
    code = page.frame_locator("#tool").get_by_test_id("error-code")
    wait_shown(page, "tool", code)

    assert code.inner_text() == "state_mismatch"
    assert "new window" in page.frame_locator("#tool").locator("main").inner_text()
