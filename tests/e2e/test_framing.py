"""In a real browser: the tool loads in its platforms' frames, and nowhere else; the admin in none.

The sandbox course page is on 127.0.0.1 and the tool on localhost. The other sites framing the tool
(a school's own domain, somewhere else) are small servers on other ports of 127.0.0.1: other origins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from lms_tool.lti.models import Registration
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import wait_shown
from ..conftest import registration_of
from ..lti.flow import launch

pytestmark = pytest.mark.e2e


class Site:
    """A web site on its own origin whose page frames ``src`` (set by the test) in ``<iframe name="tool">``."""

    def __init__(self) -> None:
        site = self
        self.src = "about:blank"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = f'<!doctype html><h1>Course</h1><iframe id="tool" name="tool" src="{site.src}"></iframe>'
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def school() -> Iterator[Site]:
    site = Site()
    yield site
    site.stop()


@pytest.fixture
def elsewhere() -> Iterator[Site]:
    site = Site()
    yield site
    site.stop()


def _framing_refusals(page: Any) -> list[str]:
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text) if "frame-ancestors" in message.text else None)
    return refusals


def _shown(page: Any) -> bool:
    frame = page.frame(name="tool")
    return frame is not None and frame.locator("main").count() > 0


def test_the_canvas_course_page_frames_the_tool_from_an_origin_that_is_not_its_issuer(
    page, canvas, course, student, tool_url
):
    page.goto(f"{canvas.base_url}/course/course-101/embed?user=student-1&storage=forwarding")
    wait_shown(page, "tool", page.frame_locator("#tool").locator('[data-view="learner"]'))

    school = "http://" + urlparse(canvas.base_url).netloc
    assert canvas.issuer == "https://canvas.instructure.com"
    assert registration_of(canvas).frame_origins == [school]  # learned at the first launch
    assert "/lti/activity/?launch=" in page.frame(name="tool").url


@pytest.fixture
def launched(canvas, course, student, school) -> str:  # type: ignore[no-untyped-def]
    """A live launch of a registration whose admin added the school's origin."""
    Registration.objects.filter(pk=registration_of(canvas).pk).update(frame_origins=[school.origin])
    response = launch(canvas, LaunchSpec(student, course))
    return parse_qs(urlparse(response.url).query)["launch"][0]


def test_a_configured_origin_frames_the_tool_and_an_unregistered_one_is_refused(
    page, launched, school, elsewhere, tool_url
):
    school.src = elsewhere.src = f"{tool_url}/lti/activity/?launch={launched}"
    refusals = _framing_refusals(page)

    page.goto(f"{school.origin}/course")
    wait_shown(page, "tool", page.frame_locator("#tool").locator('[data-view="learner"]'))
    assert refusals == []

    page.goto(f"{elsewhere.origin}/course")
    page.wait_for_load_state("load")
    assert not _shown(page)
    assert any(school.origin in text for text in refusals), refusals  # Chromium names the allowed ancestors


def test_the_admin_cannot_be_framed_even_by_a_registered_origin(page, launched, school, tool_url):
    school.src = f"{tool_url}/admin/login/?launch={launched}"
    refusals = _framing_refusals(page)

    page.goto(f"{school.origin}/course")
    page.wait_for_load_state("load")

    assert not _shown(page)
    assert any("'none'" in text for text in refusals), refusals
