"""The OpenAPI schema is served, and a property-based run of schemathesis holds the API to it.

Bounded: a few examples per operation, derandomised, so the run is repeatable and takes seconds.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from lms_tool.api.scopes import SCOPES
from lms_tool.grading import services as grading
from lms_tool.lti.models import ResourceLink

from .conftest import enrol

pytestmark = pytest.mark.django_db
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error, negative_data_rejection]


def test_the_schema_and_docs_are_served_without_credentials(db: None) -> None:
    api = APIClient()
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/enrollments" in schema.json()["paths"]
    assert "apiClient" in schema.json()["components"]["securitySchemes"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"drf_spectacular_sidecar" in docs.content and b"cdn." not in docs.content  # no CDN


@pytest.fixture
def wsgi_app():  # type: ignore[no-untyped-def]
    """The real WSGI handler, keeping the test's database connection open between requests (as Django's
    test client does): the schemathesis requests run inside the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(make_api, bio):  # type: ignore[no-untyped-def]
    """Some of everything, and a client holding every scope (and room under its rate limit)."""
    for i in range(3):
        enrol(bio, f"s{i}", name=f"Student {i}", email=f"s{i}@example.edu")
    link = ResourceLink.objects.create(context=bio, resource_link_id="rl-1", title="Quiz")
    learner = enrol(bio, "scored").user
    grading.score_submit(user=learner, resource_link=link, score_given=1, score_maximum=2, source="ai", confidence=0.1)
    return make_api(list(SCOPES), rate=100000)


def _property_run(operation, mode, checks, examples: int, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=checks)

    run()


def test_the_api_keeps_to_its_own_schema(world, wsgi_app) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    headers = {"Authorization": f"Bearer {world.token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25
    failures: list[str] = []
    for operation in operations:
        for mode, checks, examples in (
            (schemathesis.GenerationMode.POSITIVE, POSITIVE_CHECKS, 6),
            (schemathesis.GenerationMode.NEGATIVE, NEGATIVE_CHECKS, 4),
        ):
            try:
                _property_run(operation, mode, checks, examples, headers)
            except Exception as exc:  # collect every operation's failure, not just the first
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
