"""Every error page says what happened and what to do, in words: never a class name, never an empty body."""

from __future__ import annotations

import re

import pytest

from lms_tool.sandbox.platform import LaunchSpec

from ..quizzes.flow import seat

pytestmark = pytest.mark.django_db

INTERNALS = ("Resolver404", "Http404", "Traceback", "tried", "Exception")


def _words(response) -> str:  # type: ignore[no-untyped-def]
    text = response.content.decode()
    assert text.strip(), "an empty error page"
    for internal in INTERNALS:
        assert internal not in text, f"{internal} shown to the user"
    return text


def test_an_unknown_address_answers_a_404_page_in_words(client):
    response = client.get("/quizzes/no-such-page/")

    text = _words(response)
    assert response.status_code == 404 and "text/html" in response["Content-Type"]
    assert "There is no page at this address" in text and "go back to the course" in text


def test_a_json_client_gets_json_for_an_unknown_address(client):
    response = client.get("/quizzes/no-such-page/", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response.json()["error"].startswith("There is no page at this address")


def test_opening_the_launch_url_in_a_browser_says_to_open_the_tool_from_the_course(client):
    response = client.get("/lti/launch/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    text = _words(response)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "Open the tool from your course" in text and "open the activity" in text
    assert (
        "Reference: ·" not in text
        and "Reference:  ·" not in text
        and re.search(r'Reference: .*<span class="mono">[0-9a-f]{8}</span>', text)
    )


def test_a_tool_page_that_takes_only_a_form_answers_405_in_words(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))

    response = teacher.session.get(f"{tool_url}/roster/sync/", params={"launch": teacher.launch_id}, timeout=10)

    text = _words(response)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert "takes the answer of a form" in text


def test_a_page_without_a_launch_shows_no_empty_reference(client):
    response = client.get("/roster/")

    text = _words(response)
    assert response.status_code == 401 and "open the tool again" in text
    assert "launch_required" in text and "Reference: ·" not in text
