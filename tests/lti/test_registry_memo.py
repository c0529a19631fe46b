"""The per-process memo of registrations and deployments (lms_tool/lti/registry_memo.py) never lets a
deactivated registration or deployment through: any write changes the version in the shared cache, and a
process reads the rows again at its next login or launch. Driven over real HTTP like the other launch tests;
the tool's live server runs in this process, so its memo and counters are the ones read here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from django.core.cache import cache
from django.db import connection

from lms_tool.lti import registry_memo, selectors
from lms_tool.lti.models import Deployment, Registration
from lms_tool.sandbox.platform import ROLE, Course, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform
from . import flow


@pytest.fixture(scope="module")
def _server() -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    yield server
    server.stop()


@pytest.fixture
def plat(_server: PlatformServer, tool_url: str) -> Platform:
    return make_platform(_server, tool_url, family="canvas")


@pytest.fixture
def course(plat: Platform) -> Course:
    return plat.add_course("course-1", title="Biology 101", deployment_id="deployment-1")


@pytest.fixture
def spec(plat: Platform, course: Course) -> LaunchSpec:
    return LaunchSpec(plat.enrol(course, Person("student-1", "Sam", "sam@example.edu", [ROLE + "Learner"])), course)


def _launched(plat: Platform, spec: LaunchSpec) -> None:
    response = flow.launch(plat, spec)
    assert response.status_code == 200 and flow.error_code(response) is None, response.text[:500]


def _warm(plat: Platform, spec: LaunchSpec) -> None:
    """Launches until one is served from the memo (the first learns the platform's scopes and frame origins:
    writes to the registration, which make every process read it again)."""
    _launched(plat, spec)
    _launched(plat, spec)
    hits = registry_memo.stats["hits"]
    _launched(plat, spec)
    assert registry_memo.stats["hits"] >= hits + 3  # login's registration, launch's registration and deployment


def assert_refused(response: requests.Response, *, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert flow.error_code(response) == code


def _sql(statement: str, params: list[object]) -> None:
    """A write as another process makes it: not through this process's models (no signal, no queryset hook)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_registration_deactivated_after_the_memo_served_it_is_refused_at_the_next_login_and_launch(plat, spec):
    _warm(plat, spec)
    pending = flow.start(plat, spec)  # logged in while still active

    Registration.objects.update(is_active=False)

    assert_refused(pending.post(), status=403, code="unknown_registration")
    response = requests.get(plat.login_initiation_url(spec), timeout=10)
    assert_refused(response, status=403, code="unknown_registration")


def test_a_deployment_turned_off_by_save_is_refused_at_the_next_launch(plat, spec):
    _warm(plat, spec)
    deployment = Deployment.objects.get(deployment_id="deployment-1")
    deployment.is_active = False
    deployment.save()

    assert_refused(flow.launch(plat, spec), status=403, code="inactive_deployment")


def test_another_process_write_reaches_this_process_through_the_shared_version(plat, spec):
    _warm(plat, spec)
    _sql("UPDATE lti_deployment SET is_active = %s WHERE deployment_id = %s", [False, "deployment-1"])
    # What the other process's write does to the shared cache (registry_memo.version_bump there).
    cache.set(registry_memo.VERSION_KEY, "changed-by-another-process", None)

    assert_refused(flow.launch(plat, spec), status=403, code="inactive_deployment")


def test_without_a_version_in_the_cache_the_rows_are_read_from_the_database(plat, spec):
    _warm(plat, spec)
    pending = flow.start(plat, spec)
    _sql("UPDATE lti_registration SET is_active = %s WHERE issuer = %s", [False, plat.issuer])
    cache.delete(registry_memo.VERSION_KEY)  # evicted, or the cache was cleared

    assert_refused(pending.post(), status=403, code="unknown_registration")
    cache.delete(registry_memo.VERSION_KEY)
    response = requests.get(plat.login_initiation_url(spec), timeout=10)
    assert_refused(response, status=403, code="unknown_registration")


@pytest.mark.django_db
def test_the_memo_hands_out_copies_and_forgets_on_any_write(django_assert_num_queries):
    registration = Registration.objects.create(
        issuer="https://lms.example", client_id="c1", auth_login_url="https://lms.example/a", key_set_url="https://k"
    )
    version = registry_memo.version_read()
    assert version is not None  # the create changed it
    first = selectors.registration_get(issuer="https://lms.example", client_id="c1", version=version)
    assert first is not None and first.pk == registration.pk
    first.scopes = ["changed in memory by a caller"]
    with django_assert_num_queries(0):
        again = selectors.registration_get(issuer="https://lms.example", client_id="c1", version=version)
    assert again is not None and again.scopes == []

    Registration.objects.filter(pk=registration.pk).update(name="renamed")  # no save(), no signal
    changed = registry_memo.version_read()
    assert changed != version
    with django_assert_num_queries(1):  # and the memo forgot the row: one query again
        fresh = selectors.registration_get(issuer="https://lms.example", client_id="c1", version=changed)
    assert fresh is not None and fresh.name == "renamed"
