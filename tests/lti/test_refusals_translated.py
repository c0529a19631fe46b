"""A refused login or launch speaks the browser's language; the tool's log stays English.

A refused login or launch has no launch, so the browser's Accept-Language picks the page's language
(docs/translation.md). Driven over real HTTP against the sandbox platform, as test_launch_refusals.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import requests
from django.utils import translation

from lms_tool.lti import oidc
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform
from . import flow

SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture(scope="module")
def _server() -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    yield server
    server.stop()


@pytest.fixture
def platform_server(_server: PlatformServer) -> PlatformServer:
    return _server


def page_text(response: requests.Response) -> str:
    """The page's words, tags removed and spaces collapsed (the sentence is inside <p> elements)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def tool_log(caplog: pytest.LogCaptureFixture) -> str:
    # As the handler wrote it while the request was answered (a record's getMessage() here, after the request,
    # would format its lazy arguments in English whatever the log said).
    return caplog.text


def stranger_login(platform_server: PlatformServer, tool_url: str) -> tuple[Platform, str]:
    stranger = make_platform(platform_server, tool_url, family="moodle", register=False)
    course = stranger.add_course("course-9")
    person = stranger.enrol(course, Person("p-1", "Pat", "pat@example.edu", [ROLE + "Learner"]))
    return stranger, stranger.login_initiation_url(LaunchSpec(person, course))


def test_a_login_from_an_unknown_issuer_reads_in_spanish_and_logs_in_english(platform_server, tool_url, caplog):
    stranger, url = stranger_login(platform_server, tool_url)

    response = requests.get(url, headers=SPANISH, timeout=10)

    assert response.status_code == 403 and flow.error_code(response) == "unknown_registration"
    text = page_text(response)
    assert "No se pudo abrir esta herramienta" in text  # the title (already translated)
    assert "Esta plataforma de aprendizaje no está registrada en la herramienta." in text
    assert (
        f"No hay ningún registro activo para el emisor '{stranger.issuer}' y el client_id 'tool-client-1'." in text
    )  # the admin hint
    assert "This learning platform is not registered" not in text and "No active registration" not in text
    log = tool_log(caplog)
    assert f"No active registration for issuer '{stranger.issuer}'" in log
    assert "No hay ningún registro" not in log and "plataforma" not in log


def test_a_login_from_an_unknown_issuer_stays_word_for_word_in_english(platform_server, tool_url, caplog):
    stranger, url = stranger_login(platform_server, tool_url)

    response = requests.get(url, headers=ENGLISH, timeout=10)

    assert response.status_code == 403
    text = page_text(response)
    assert " This learning platform is not registered with the tool. " in text
    assert (
        f" No active registration for issuer '{stranger.issuer}' and client_id 'tool-client-1'. Add it with "
        "`manage.py lti_platform add` or in the admin. " in text
    )


@pytest.fixture
def pending(platform_server, tool_url) -> flow.PendingLaunch:
    plat = make_platform(platform_server, tool_url, family="canvas")
    course = plat.add_course("course-101", title="Biology 101")
    student = plat.enrol(course, Person("student-1", "Sam Student", "sam@example.edu", [ROLE + "Learner"]))
    return flow.start(plat, LaunchSpec(student, course))


def test_a_launch_with_an_unknown_state_reads_in_spanish_and_logs_in_english(pending, caplog):
    pending.session.headers.update(SPANISH)

    response = pending.post(state="state-made-up")

    assert response.status_code == 400 and flow.error_code(response) == "state_unknown"
    text = page_text(response)
    assert "Este lanzamiento ha caducado o ya se usó. Vuelve a tu curso y abre la herramienta de nuevo." in text
    assert "configura REDIS_URL en todos los procesos" in text  # the admin hint, in Spanish too
    assert "This launch has expired" not in text
    log = tool_log(caplog)
    assert "] state_unknown | admin hint: The state is unknown: it expired" in log
    assert "caducó" not in log


def test_a_launch_with_an_unknown_state_stays_word_for_word_in_english(pending):
    pending.session.headers.update(ENGLISH)

    response = pending.post(state="state-made-up")

    assert response.status_code == 400
    text = page_text(response)
    assert " This launch has expired or was already used. Go back to your course and open the tool again. " in text
    assert (
        " The state is unknown: it expired, was used before, or the login went to another tool server that does "
        "not share this cache (set REDIS_URL for all processes). " in text
    )


def test_a_launch_refusal_as_text_is_english_whatever_language_is_active():
    # What logs and tracebacks print: ``str(error)`` is English while a Spanish request is being answered.
    error = oidc.state_unknown()
    with translation.override("es"):
        shown = str(error.user_message)
        logged = str(error)

    assert shown.startswith("Este lanzamiento ha caducado")
    assert (
        logged
        == "state_unknown: This launch has expired or was already used. Go back to your course and open the tool again."
    )
