"""The login and launch at their floor (docs/benchmarks.md, Launch): they skip the session, CSRF, auth, message and
kept-launch middlewares but keep every header and check; a repeat pair costs a fixed number of cache round trips.

Driven through the whole Django stack with the test client (the sandbox platform signs the id_token and serves
its JWKS over HTTP), so the request the view saw can be looked at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.cache import cache, caches
from django.test import Client
from django.test.utils import override_settings

from lms_tool.core.cache import RedisCache
from lms_tool.lti.models import Registration
from lms_tool.sandbox.platform import ROLE, Course, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform

TOOL = "http://testserver"


@pytest.fixture(scope="module")
def _server() -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    yield server
    server.stop()


@pytest.fixture
def plat(_server: PlatformServer, transactional_db: None) -> Iterator[Platform]:
    cache.clear()
    with override_settings(TOOL_BASE_URL=TOOL, ALLOWED_HOSTS=["testserver"]):
        yield make_platform(_server, TOOL, family="canvas")


@pytest.fixture
def spec(plat: Platform) -> LaunchSpec:
    course: Course = plat.add_course("course-1", title="Biology 101", deployment_id="deployment-1")
    return LaunchSpec(plat.enrol(course, Person("student-1", "Sam", "sam@example.edu", [ROLE + "Learner"])), course)


def _pair(client: Client, plat: Platform, spec: LaunchSpec, **headers: str) -> tuple[Any, Any]:
    """(login response, launch response), as the browser sends them."""
    url = urlparse(plat.login_initiation_url(spec))
    login = client.get(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, headers=headers)
    assert login.status_code == 302, login.content[:500]
    query = {k: v[0] for k, v in parse_qs(urlparse(login["Location"]).query).items()}
    _, fields = plat.authorize(query)
    return login, client.post("/lti/launch/", fields, headers=headers)


def test_login_and_launch_skip_session_and_auth_but_keep_framing_language_and_the_kept_launch(plat, spec):
    client = Client()
    login, launch = _pair(client, plat, spec, accept_language="es")
    assert launch.status_code == 302 and "launch=" in launch["Location"], launch.content[:500]
    for response in (login, launch):
        request = response.wsgi_request
        # Left out on these paths: no session, user or flash messages were set up for the request.
        assert not hasattr(request, "session") and not hasattr(request, "user") and not hasattr(request, "_messages")
        assert request.lti_launch is None
        # Kept: framing (the login may be framed by the platform), security headers, the browser's language.
        assert "frame-ancestors" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Language"] == "es"
        assert "no-cache" in response["Cache-Control"]

    # The page the launch lands on goes through the full chain: the kept launch is found, a session exists.
    page = client.get(launch["Location"])
    assert page.status_code == 200, page.content[:500]
    assert page.wsgi_request.lti_launch is not None and hasattr(page.wsgi_request, "session")


def test_a_refused_login_on_the_lean_path_answers_its_error_page_in_the_browsers_language(plat, spec):
    Registration.objects.update(is_active=False)
    url = urlparse(plat.login_initiation_url(spec))
    response = Client().get(
        url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, headers={"accept-language": "es"}
    )
    assert response.status_code == 403
    assert response["Content-Language"] == "es"
    assert b'data-testid="error-code">unknown_registration<' in response.content


@pytest.mark.skipif(not isinstance(caches["default"], RedisCache), reason="counts Redis round trips: needs REDIS_URL")
def test_a_repeat_login_and_launch_pair_makes_five_cache_round_trips(plat, spec, monkeypatch):
    """Login: the registry version, the state's SET. Launch: version + state in one MGET; the state's delete,
    the nonce's add and the repeat-launch record's read in one pipeline; the kept launch's SET."""
    import redis.connection

    client = Client()
    for _ in range(3):  # the first records the person and learns the platform; the record lands on commit
        _pair(client, plat, spec)
    sent: list[bytes] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> Any:
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    _, launch = _pair(client, plat, spec)
    assert launch.status_code == 302 and "launch=" in launch["Location"]
    assert len(sent) == 5, [bytes(b"".join(c) if isinstance(c, list) else c)[:80] for c in sent]


def test_a_launch_recorded_anew_reads_the_membership_once(plat, spec):
    """A launch whose claims changed (here the person's name; as for a learner the roster listed before their first
    launch) records them again: the membership read of the revocation check serves the record too."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lms_tool.lti.models import LtiUser, Membership

    client = Client()
    _pair(client, plat, spec)
    spec.person.name = "Samantha"
    with CaptureQueriesContext(connection) as queries:
        _, launch = _pair(client, plat, spec)

    assert launch.status_code == 302 and "launch=" in launch["Location"]
    table = Membership._meta.db_table
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f"FROM {table} " in q["sql"].replace('"', "")
    ]
    assert len(reads) == 1, reads
    assert LtiUser.objects.get(sub="student-1").name == "Samantha", "the new claims were recorded"
    assert Membership.objects.get(user__sub="student-1").is_active
