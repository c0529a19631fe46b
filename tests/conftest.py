"""Shared fixtures: a live tool, an independent LTI platform over real HTTP, and the people in it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command

from lms_tool.lti import keys, platform_keys, registry, registry_memo, service_client
from lms_tool.lti.models import Registration
from lms_tool.sandbox.platform import ROLE, Course, Person, Platform
from lms_tool.sandbox.server import PlatformServer

# One Playwright instance for the whole run: a second sync_playwright() in the same thread fails.
pytest_plugins = ["tests.browser", "tests.strict"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The database cache needs its table when no REDIS_URL is set (the embedded default)."""
    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Each test starts with an empty shared cache and no per-process memory of keys."""
    platform_keys.forget()
    service_client.forget()
    keys.forget()
    registry_memo.forget()
    yield
    # The database cache table may be gone with a rolled-back test database.
    with contextlib.suppress(Exception):
        cache.clear()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):  # type: ignore[no-untyped-def]
    """The test platforms and the live tool listen on loopback, which core.http refuses unless listed
    (as `make run` lists it); tests of the refusal empty the list themselves."""
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture
def _cache_clean(db: None) -> None:
    cache.clear()


@pytest.fixture
def tool_url(live_server, _cache_clean) -> str:  # type: ignore[no-untyped-def]
    return live_server.url


@pytest.fixture
def platform_server() -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    yield server
    server.stop()


def make_platform(
    server: PlatformServer,
    tool_url: str,
    *,
    family: str = "canvas",
    client_id: str = "tool-client-1",
    register: bool = True,
    deployment_ids: list[str] | None = None,
    deployment_policy: str | None = None,
) -> Platform:
    platform = Platform(
        base_url=server.base_url,
        tool_login_url=f"{tool_url}/lti/login/",
        tool_launch_url=f"{tool_url}/lti/launch/",
        tool_jwks_url=f"{tool_url}/lti/jwks/",
        client_id=client_id,
        family=family,
    )
    server.platform = platform
    if register:
        registry.registration_upsert(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_url,
            auth_token_url=platform.token_url,
            key_set_url=platform.jwks_url,
            family="other",
            deployment_ids=deployment_ids if deployment_ids is not None else ["deployment-1"],
            deployment_policy=deployment_policy,
        )
    return platform


@pytest.fixture(params=["canvas", "moodle"])
def platform(request, platform_server: PlatformServer, tool_url: str) -> Platform:  # type: ignore[no-untyped-def]
    """A Canvas-like and a Moodle-like platform, each registered with the tool."""
    return make_platform(platform_server, tool_url, family=request.param)


@pytest.fixture
def canvas(platform_server: PlatformServer, tool_url: str) -> Platform:
    return make_platform(platform_server, tool_url, family="canvas")


@pytest.fixture
def course(platform_server: PlatformServer) -> Course:
    platform = platform_server.platform
    assert platform is not None, "request a platform fixture first"
    course = platform.add_course("course-101", title="Biology 101")
    return course


@pytest.fixture
def instructor(platform_server: PlatformServer, course: Course) -> Person:
    person = Person("instructor-1", "Ada Instructor", "ada@example.edu", [ROLE + "Instructor"], "Ada", "Instructor")
    return platform_server.platform.enrol(course, person)  # type: ignore[union-attr]


@pytest.fixture
def student(platform_server: PlatformServer, course: Course) -> Person:
    person = Person("student-1", "Sam Student", "sam@example.edu", [ROLE + "Learner"], "Sam", "Student")
    return platform_server.platform.enrol(course, person)  # type: ignore[union-attr]


def registration_of(platform: Platform) -> Registration:
    return Registration.objects.get(issuer=platform.issuer, client_id=platform.client_id)
