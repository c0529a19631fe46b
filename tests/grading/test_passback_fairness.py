"""Per-platform fairness of grade passback (issue 18): a platform that answers ``429`` with ``Retry-After`` is
slowed alone. Two sandbox platforms, each its own AGS server over HTTP; the tool posts as its worker does
(``passback.score_post`` for every due score, pass after pass, on one thread); learners of both keep
submitting. The other platform's scores keep flowing at their pace, and the rate-limited platform is asked
no more often than its ``Retry-After`` allows."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.utils import timezone

from lms_tool.grading import passback, selectors, services
from lms_tool.grading.models import PassbackState, Score
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from ..conftest import make_platform
from .conftest import Seat, seat

RETRY_AFTER_SECONDS = 1.0
SUBMIT_EVERY_SECONDS = 0.25
# Rounds of submissions, one every SUBMIT_EVERY_SECONDS: about 3 s on a quiet machine. The run lasts until the
# last round rather than a fixed time, so a busy machine (two test workers on 2 cores) still makes them all.
ROUNDS = 12


@pytest.fixture
def two_servers() -> Iterator[tuple[PlatformServer, PlatformServer]]:
    servers = (PlatformServer().start(), PlatformServer().start())
    yield servers
    for server in servers:
        server.stop()


def _seats(platform: Platform, n: int) -> list[Seat]:
    course = platform.add_course("course-1", title="Biology 101", deployment_id="deployment-1")
    column = line_item_add(platform, course, label="Quiz", resource_link_id="rl-quiz")
    people = [
        platform.enrol(course, Person(f"learner-{i}", f"Learner {i}", f"l{i}@example.edu", [ROLE + "Learner"]))
        for i in range(n)
    ]
    return [seat(platform, LaunchSpec(p, course, resource_link_id="rl-quiz", lineitem_url=column)) for p in people]


def _submit(seats: list[Seat], value: float) -> None:
    for s in seats:
        services.score_submit(user=s.user, resource_link=s.link, score_given=value, score_maximum=100)


def test_a_platform_answering_429_is_slowed_alone_while_the_others_scores_keep_flowing(two_servers, tool_url, settings):
    settings.GRADING_POSTS_IN_FLIGHT = 2  # posts in flight per platform, as on PostgreSQL
    limited = make_platform(two_servers[0], tool_url, client_id="tool-client-limited")
    healthy = make_platform(two_servers[1], tool_url, client_id="tool-client-healthy")
    limited_seats, healthy_seats = _seats(limited, 3), _seats(healthy, 3)
    # Every AGS request to the limited platform is answered 429 with Retry-After for the whole run.
    limited.faults["ags"] = [{"status": 429, "retry_after": str(int(RETRY_AFTER_SECONDS))}] * 1000
    asked_limited = lambda: 1000 - len(limited.faults["ags"])  # noqa: E731 - requests it answered

    started = time.monotonic()
    next_submit, value = started, 0.0
    while value < ROUNDS:
        if time.monotonic() >= next_submit:
            value += 1
            _submit(limited_seats + healthy_seats, value)
            next_submit += SUBMIT_EVERY_SECONDS
        for score_id in selectors.score_ids_due(before=timezone.now()):
            passback.score_post(score_id=score_id)
        time.sleep(0.01)
    for score_id in selectors.score_ids_due(before=timezone.now()):  # the healthy platform's last submissions
        passback.score_post(score_id=score_id)
    run_seconds = time.monotonic() - started

    healthy_scores = Score.objects.filter(line_item__resource_link__context__registration__client_id=healthy.client_id)
    limited_scores = Score.objects.filter(line_item__resource_link__context__registration__client_id=limited.client_id)
    rounds = int(value)
    # The healthy platform: every score posted (or replaced by the learner's next before its turn), none left
    # waiting, each within a fraction of a second of its submission, and its gradebook holds the latest.
    assert healthy_scores.count() == rounds * len(healthy_seats)
    assert not healthy_scores.filter(passback_state=PassbackState.PENDING).exists()
    posted = list(healthy_scores.filter(passback_state=PassbackState.POSTED))
    assert len(posted) >= rounds  # at least one learner's score per round went out: not held back in bulk
    waits = sorted((s.posted_at - s.created_at).total_seconds() for s in posted)  # type: ignore[operator]
    assert waits[-1] < 1.0, f"a healthy platform's score waited {waits[-1]:.2f} s (waits {waits})"
    book = gradebook(healthy)
    for s in healthy_seats:
        assert book.result(posted[0].line_item.url, s.person.user_id)["resultScore"] == value

    # The limited platform: asked once per Retry-After at most (a batch's first post is its probe; the rest of
    # the batch waits untried), nothing posted, nothing given up on, every waiting score due no sooner than
    # the Retry-After from its last refusal.
    assert 1 <= asked_limited() <= 1 + run_seconds / RETRY_AFTER_SECONDS + 1, (asked_limited(), run_seconds)
    assert not limited_scores.filter(passback_state__in=[PassbackState.POSTED, PassbackState.DEAD]).exists()
    for score in limited_scores.filter(passback_state=PassbackState.PENDING, attempts__gt=0):
        assert score.last_status == 429
        assert (score.next_attempt_at - score.updated_at).total_seconds() >= RETRY_AFTER_SECONDS - 0.05
