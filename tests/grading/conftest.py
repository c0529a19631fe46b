"""Grading fixtures: a learner and an activity from a real launch, fast retries, a drain loop."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from lms_tool.grading import passback, selectors
from lms_tool.grading.models import PassbackState, Score
from lms_tool.lti import services as lti_services
from lms_tool.lti.models import LtiUser, ResourceLink
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform

from ..lti.flow import launch


@pytest.fixture(autouse=True)
def _fast_passback(settings):  # type: ignore[no-untyped-def]
    """Millisecond backoff; tests post through the service themselves (no broker in-process)."""
    settings.GRADING_PASSBACK_ENABLED = False
    settings.GRADING_RETRY_BASE_SECONDS = 0.005
    settings.GRADING_RETRY_CAP_SECONDS = 0.02
    settings.GRADING_MAX_ATTEMPTS = 5
    settings.GRADING_LEASE_SECONDS = 30
    settings.HTTP_TIMEOUT_SECONDS = 5.0  # a loaded machine; tests of timeouts set their own


@dataclass
class Seat:
    """A learner (or instructor) in an activity, as the tool knows them after a launch."""

    user: LtiUser
    link: ResourceLink
    person: Person


def seat(platform: Platform, spec: LaunchSpec) -> Seat:
    """Launch for real (the launch keeps the AGS claim through grading's ``launch_recorded`` hook)."""
    response = launch(platform, spec)
    assert response.status_code == 200, response.text[:500]
    launch_id = parse_qs(urlparse(response.url).query)["launch"][0]
    lti_launch = lti_services.launch_get(launch_id=launch_id)
    assert lti_launch is not None
    return Seat(
        LtiUser.objects.get(pk=lti_launch.user_pk),
        ResourceLink.objects.get(pk=lti_launch.resource_link_pk),
        spec.person,
    )


def learners_seated(platform: Platform, course, lineitem_url: str, count: int) -> list[Seat]:  # type: ignore[no-untyped-def]
    """``count`` learners (``s-0``, ``s-1``, ...) launched into the course's link ``rl-1`` with this line item."""
    return [
        seat(
            platform,
            LaunchSpec(
                platform.enrol(course, Person(f"s-{n}", f"Learner {n}", f"s{n}@example.edu", [ROLE + "Learner"])),
                course,
                resource_link_id="rl-1",
                lineitem_url=lineitem_url,
            ),
        )
        for n in range(count)
    ]


def drain(max_seconds: float = 20.0) -> int:
    """Post every pending score as a worker would, waiting for retries when they are due; returns
    the number of attempts made."""
    attempts = 0
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        due = selectors.score_ids_due(before=timezone.now())
        for score_id in due:
            passback.score_post(score_id=score_id)
            attempts += 1
        pending = Score.objects.filter(passback_state=PassbackState.PENDING).order_by("next_attempt_at").first()
        if pending is None:
            return attempts
        if not due:
            wait = (pending.next_attempt_at - timezone.now()).total_seconds() if pending.next_attempt_at else 0
            time.sleep(min(max(wait, 0.002), 0.5))
    raise AssertionError("scores still pending after the drain deadline")
