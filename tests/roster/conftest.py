"""A course on the sandbox platform with a few people, launched once so the tool knows its NRPS URL."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from lms_tool.lti.models import Context
from lms_tool.roster import services
from lms_tool.roster.models import RosterSync
from lms_tool.sandbox.platform import ROLE, Course, LaunchSpec, Person, Platform

from ..conftest import registration_of
from ..lti.flow import launch

TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


@pytest.fixture
def roster_settings(settings):  # type: ignore[no-untyped-def]
    """Small pages, so a handful of people spans several; quick retries."""
    settings.ROSTER = {**settings.ROSTER, "PAGE_LIMIT": 2, "RETRY_BASE_SECONDS": 1}
    return settings


@pytest.fixture
def eager_celery():  # type: ignore[no-untyped-def]
    """Tasks run where they are queued (the real-worker test is in test_worker.py)."""
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture
def learners(canvas: Platform, course: Course) -> list[Person]:
    people = [
        Person(f"learner-{i}", f"Learner {i}", f"learner{i}@example.edu", [ROLE + "Learner"], f"L{i}", "Learner")
        for i in range(1, 6)
    ]
    return [canvas.enrol(course, p) for p in people]


@pytest.fixture
def context(canvas: Platform, course: Course, instructor: Person, learners: list[Person], roster_settings) -> Context:  # type: ignore[no-untyped-def]
    """The tool's Context after a real instructor launch (it carries the NRPS claim)."""
    response = launch(canvas, LaunchSpec(instructor, course))
    assert response.status_code == 200, response.text
    found = Context.objects.get(registration=registration_of(canvas), context_id=course.context_id)
    assert found.nrps_url
    # The launch queued the course's first sync; no worker runs here, so start with nothing on its way.
    for pk in RosterSync.objects.filter(context=found).values_list("pk", flat=True):
        cache.delete(services.QUEUED_KEY + str(pk))
    return found


@pytest.fixture
def sync(context: Context) -> RosterSync:
    return services.roster_sync_for(context=context)


def reload(sync: RosterSync) -> RosterSync:
    return RosterSync.objects.select_related("context__registration", "resource_link").get(pk=sync.pk)
