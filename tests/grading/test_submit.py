"""score_submit: what it checks, the timestamp rule, and how each platform family gets a score."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.grading import services
from lms_tool.grading.models import Score, ScoreSlot
from lms_tool.lti import registry
from lms_tool.lti.models import LtiUser
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person

from ..conftest import make_platform
from .conftest import seat

GOOD = {"score_given": 7.0, "score_maximum": 10.0}


BAD = [
    ({"score_maximum": 0}, "maximum score must be a number above 0"),
    ({"score_maximum": float("nan")}, "maximum score must be a number above 0"),
    ({"score_given": -1}, "score must be a number of at least 0"),
    ({"score_given": float("inf")}, "score must be a number of at least 0"),
    ({"activity_progress": "Done"}, "Unknown activity progress"),
    ({"source": "robot"}, "Unknown score source"),
    ({"source": "ai"}, "AI grade needs a confidence"),
    ({"source": "ai", "confidence": 1.5}, "AI grade needs a confidence"),
    ({"source": "ai", "confidence": 0.5, "review_threshold": 2}, "review threshold must be between 0 and 1"),
]


def test_it_refuses_each_bad_score_and_writes_nothing(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))

    for changes, message in BAD:
        with pytest.raises(services.ScoreInvalid, match=message):
            services.score_submit(user=learner.user, resource_link=learner.link, **{**GOOD, **changes})

    assert not Score.objects.exists()
    assert not AuditEvent.objects.filter(action="score.submitted").exists()


def test_it_refuses_a_learner_of_another_platform(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    other, _ = registry.registration_upsert(
        issuer="https://other.example",
        client_id="x",
        auth_login_url="https://other.example/auth",
        auth_token_url="https://other.example/token",
        key_set_url="https://other.example/jwks",
        deployment_ids=["d"],
    )
    stranger = LtiUser.objects.create(registration=other, sub=student.user_id)

    with pytest.raises(services.ScoreInvalid, match="different platforms"):
        services.score_submit(user=stranger, resource_link=learner.link, **GOOD)

    assert not Score.objects.exists()


def test_timestamps_only_move_forward_per_learner_and_line_item(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))

    scores = [
        services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
        for n in range(3)
    ]

    stamps = [s.timestamp for s in scores]
    # Whole seconds apart: Moodle keeps seconds and would answer 409 to a repeated one.
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in pairwise(stamps))


def test_the_slot_keeps_the_last_timestamp_and_one_without_a_timestamp_takes_now(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    first = services.score_submit(user=learner.user, resource_link=learner.link, score_given=1, score_maximum=10)
    slot = ScoreSlot.objects.get(line_item=first.line_item, user=learner.user)
    assert slot.last_timestamp == first.timestamp

    later = first.timestamp + timedelta(days=1)  # a slot ahead of now: the next score goes one second after it
    ScoreSlot.objects.filter(pk=slot.pk).update(last_timestamp=later)
    second = services.score_submit(user=learner.user, resource_link=learner.link, score_given=2, score_maximum=10)
    assert second.timestamp == later + timedelta(seconds=1)

    ScoreSlot.objects.filter(pk=slot.pk).update(last_timestamp=None)
    third = services.score_submit(user=learner.user, resource_link=learner.link, score_given=3, score_maximum=10)
    assert third.timestamp <= timezone.now()
    slot.refresh_from_db()
    assert slot.last_timestamp == third.timestamp
    assert ScoreSlot.objects.filter(line_item=first.line_item, user=learner.user).count() == 1


def test_automatic_scores_are_posted_fully_graded(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))

    graded = services.score_submit(user=learner.user, resource_link=learner.link, **GOOD)
    started = services.score_submit(
        user=learner.user, resource_link=learner.link, score_given=None, score_maximum=10, activity_progress="Started"
    )

    assert (graded.grading_progress, graded.review_state) == ("FullyGraded", "not_needed")
    assert (started.grading_progress, started.passback_state) == ("NotReady", "pending")


def test_a_confident_ai_grade_needs_no_review(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))

    score = services.score_submit(
        user=learner.user, resource_link=learner.link, source="ai", confidence=0.95, review_threshold=0.8, **GOOD
    )

    assert (score.review_state, score.grading_progress, score.passback_state) == (
        "not_needed",
        "FullyGraded",
        "pending",
    )


@pytest.mark.parametrize(("family", "passback_state"), [("canvas", "pending"), ("moodle", "held"), ("test", "pending")])
def test_an_unsure_ai_grade_waits_for_review_as_the_platform_needs(platform_server, tool_url, family, passback_state):
    platform = make_platform(platform_server, tool_url, family=family)
    course = platform.add_course("course-101")
    student = platform.enrol(course, Person("student-1", "Sam Student", "sam@example.edu", [ROLE + "Learner"]))
    learner = seat(platform, LaunchSpec(student, course))

    score = services.score_submit(user=learner.user, resource_link=learner.link, source="ai", confidence=0.4, **GOOD)

    assert (score.review_state, score.grading_progress, score.passback_state) == (
        "needs_review",
        "PendingManual",
        passback_state,
    )
    event = DomainEvent.objects.get(type="score.needs_review")
    assert event.subject_id == str(score.pk) and event.data["score_given"] == 7.0


def test_a_newer_score_replaces_older_ones_still_waiting(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    first = services.score_submit(user=learner.user, resource_link=learner.link, score_given=1, score_maximum=10)
    second = services.score_submit(user=learner.user, resource_link=learner.link, score_given=2, score_maximum=10)

    first.refresh_from_db()
    assert (first.passback_state, second.passback_state) == ("superseded", "pending")
    assert first.last_error == f"superseded by score #{second.pk}"


def test_a_held_grade_does_not_replace_an_earlier_score_on_its_way(platform_server, tool_url):
    moodle = make_platform(platform_server, tool_url, family="moodle")
    course = moodle.add_course("course-101")
    student = moodle.enrol(course, Person("student-1", "Sam", "sam@example.edu", [ROLE + "Learner"]))
    learner = seat(moodle, LaunchSpec(student, course))
    automatic = services.score_submit(user=learner.user, resource_link=learner.link, **GOOD)
    held = services.score_submit(user=learner.user, resource_link=learner.link, source="ai", confidence=0.1, **GOOD)

    automatic.refresh_from_db()
    assert (automatic.passback_state, held.passback_state) == ("pending", "held")


def test_it_audits_every_submission(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))

    score = services.score_submit(user=learner.user, resource_link=learner.link, source="instructor", **GOOD)

    audit = AuditEvent.objects.get(action="score.submitted", object_id=str(score.pk))
    assert audit.source == "instructor" and audit.after["score_given"] == 7.0
