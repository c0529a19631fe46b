"""The platform's public keys: cached in the shared cache, refetched once when the platform rotates.

docs/platforms.md, pylti1p3 defects 3 and 4: pylti1p3 fetches the JWKS on every launch, or with caching on
never notices a new key. Counted here as the GET requests the platform itself saw.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from lms_tool.lti import platform_keys
from lms_tool.lti.models import Registration
from lms_tool.sandbox.platform import ROLE, Course, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform
from . import flow
from .refusal_cases import claims_of, jwks_fetches


@pytest.fixture(scope="module")
def _server() -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    yield server
    server.stop()


@pytest.fixture
def platform_server(_server: PlatformServer) -> PlatformServer:
    return _server


@pytest.fixture
def plat(request, platform_server: PlatformServer, tool_url: str) -> Platform:  # type: ignore[no-untyped-def]
    return make_platform(platform_server, tool_url, family=getattr(request, "param", "canvas"))


@pytest.fixture
def course(plat: Platform) -> Course:
    return plat.add_course("course-101", title="Biology 101")


@pytest.fixture
def student(plat: Platform, course: Course) -> Person:
    return plat.enrol(course, Person("student-1", "Sam Student", "sam@example.edu", [ROLE + "Learner"]))


def launch_ok(platform: Platform, spec: LaunchSpec) -> None:
    response = flow.launch(platform, spec)
    assert response.status_code == 200, response.text
    assert "/lti/activity/" in response.url


@pytest.mark.parametrize("plat", ["canvas", "moodle"], indirect=True)
def test_steady_state_launches_fetch_the_jwks_once(plat, course, student):
    for _ in range(5):
        launch_ok(plat, LaunchSpec(student, course))

    assert jwks_fetches(plat) == 1


def test_the_jwks_is_shared_through_the_cache_not_process_memory(plat, course, student):
    launch_ok(plat, LaunchSpec(student, course))
    cached = cache.get(platform_keys.cache_key(plat.jwks_url))
    assert [k["kid"] for k in cached["keys"]] == [plat.signing_key.kid]

    platform_keys.forget()  # what another web process starts with: no parsed keys of its own
    launch_ok(plat, LaunchSpec(student, course))

    assert jwks_fetches(plat) == 1


@pytest.mark.parametrize("plat", ["canvas", "moodle"], indirect=True)
def test_a_platform_key_rotation_is_picked_up_with_exactly_one_refetch(plat, course, student):
    launch_ok(plat, LaunchSpec(student, course))
    old_kid = plat.signing_key.kid

    new = plat.rotate_key()
    assert new.kid != old_kid
    launch_ok(plat, LaunchSpec(student, course))
    assert jwks_fetches(plat) == 2

    for _ in range(3):
        launch_ok(plat, LaunchSpec(student, course))
    assert jwks_fetches(plat) == 2, "after the refetch the new key is cached too"


def test_a_rotation_that_drops_the_old_key_is_picked_up(plat, course, student):
    launch_ok(plat, LaunchSpec(student, course))

    plat.rotate_key(keep_old=False)
    launch_ok(plat, LaunchSpec(student, course))

    assert jwks_fetches(plat) == 2


def test_another_process_finds_the_rotated_key_in_the_shared_cache(plat, course, student):
    launch_ok(plat, LaunchSpec(student, course))
    plat.rotate_key()
    launch_ok(plat, LaunchSpec(student, course))  # this process refetched

    platform_keys.forget()  # a second process, which never saw the new kid
    launch_ok(plat, LaunchSpec(student, course))

    assert jwks_fetches(plat) == 2


def test_launches_signed_with_the_old_key_keep_working_while_a_refetch_fails(plat, course, student):
    launch_ok(plat, LaunchSpec(student, course))
    old = plat.signing_key
    plat.rotate_key()
    plat.faults["jwks"] = "500"

    refused = flow.launch(plat, LaunchSpec(student, course))
    assert refused.status_code == 502
    assert flow.error_code(refused) == "platform_jwks_unavailable"

    # A launch still signed with the old key (a platform node that has not switched yet) is fine.
    pending = flow.start(plat, LaunchSpec(student, course))
    claims = claims_of(pending.fields["id_token"])
    response = pending.post(id_token=plat.sign(claims, key=old))
    assert response.status_code == 200, response.text


def test_each_jwks_url_is_cached_on_its_own(plat, course, student, platform_server, tool_url):
    launch_ok(plat, LaunchSpec(student, course))
    registration = Registration.objects.get()
    moved = plat.jwks_url + "?v=2"  # the admin points the registration at a new JWKS URL
    Registration.objects.filter(pk=registration.pk).update(key_set_url=moved)

    launch_ok(plat, LaunchSpec(student, course))

    assert jwks_fetches(plat) == 2
    assert cache.get(platform_keys.cache_key(moved)) is not None
