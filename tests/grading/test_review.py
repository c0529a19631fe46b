"""Human review of AI grades: Canvas sees them PendingManual, Moodle not at all, until an instructor decides."""

from __future__ import annotations

import pytest

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.grading import selectors, services
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from ..conftest import make_platform
from .conftest import Seat, drain, seat

AI = {"source": "ai", "confidence": 0.4, "review_threshold": 0.8, "score_given": 7.0, "score_maximum": 10.0}


def _activity(platform, course, student, instructor) -> tuple[Seat, Seat, str]:  # type: ignore[no-untyped-def]
    url = line_item_add(platform, course, label="Essay", score_maximum=10, resource_link_id="rl-essay")
    learner = seat(platform, LaunchSpec(student, course, resource_link_id="rl-essay", lineitem_url=url))
    teacher = seat(platform, LaunchSpec(instructor, course, resource_link_id="rl-essay", lineitem_url=url))
    return learner, teacher, url


def test_canvas_gets_an_unsure_ai_grade_pending_manual_with_its_score(canvas, course, student, instructor):
    learner, _, url = _activity(canvas, course, student, instructor)

    score = services.score_submit(user=learner.user, resource_link=learner.link, **AI)
    drain()

    result = gradebook(canvas).result(url, student.user_id)
    assert result is not None
    assert (result["resultScore"], result["_grading"], result["_needs_grading"]) == (7.0, "PendingManual", True)
    score.refresh_from_db()
    assert (score.passback_state, score.review_state) == ("posted", "needs_review")


def test_moodle_gets_nothing_until_the_grade_is_reviewed(platform_server, tool_url):
    moodle = make_platform(platform_server, tool_url, family="moodle")
    course = moodle.add_course("course-101")
    student = moodle.enrol(course, Person("student-1", "Sam", "sam@example.edu", [ROLE + "Learner"]))
    instructor = moodle.enrol(course, Person("instructor-1", "Ada", "ada@example.edu", [ROLE + "Instructor"]))
    learner, teacher, url = _activity(moodle, course, student, instructor)

    score = services.score_submit(user=learner.user, resource_link=learner.link, **AI)
    drain()
    assert gradebook(moodle).result(url, student.user_id) is None
    assert not [path for method, path in moodle.requests_seen if path.endswith("/scores")]

    services.score_review_decide(score=score, reviewer=teacher.user, score_given=6.0, comment="Good structure")
    drain()

    result = gradebook(moodle).result(url, student.user_id)
    assert result is not None
    assert (result["resultScore"], result["_grading"], result["comment"]) == (6.0, "FullyGraded", "Good structure")
    score.refresh_from_db()
    assert (score.review_state, score.passback_state, score.grading_progress) == ("overridden", "posted", "FullyGraded")


def test_other_platforms_get_pending_manual_with_the_score(platform_server, tool_url):
    other = make_platform(platform_server, tool_url, family="test")
    course = other.add_course("course-101")
    student = other.enrol(course, Person("student-1", "Sam", "sam@example.edu", [ROLE + "Learner"]))
    learner = seat(other, LaunchSpec(student, course))

    services.score_submit(user=learner.user, resource_link=learner.link, **AI)
    drain()

    (result,) = gradebook(other).results.values()
    assert (result["resultScore"], result["_grading"]) == (7.0, "PendingManual")


def test_a_confirmed_grade_is_posted_fully_graded_to_the_same_submission(canvas, course, student, instructor):
    learner, teacher, url = _activity(canvas, course, student, instructor)
    score = services.score_submit(user=learner.user, resource_link=learner.link, **AI)
    drain()
    assert [s.pk for s in selectors.scores_needing_review(contexts=learner.link.context)] == [score.pk]
    pending_stamp = score.timestamp

    decided = services.score_review_decide(score=score, reviewer=teacher.user, score_given=7.0)
    drain()

    assert decided.review_state == "confirmed" and decided.timestamp > pending_stamp
    result = gradebook(canvas).result(url, student.user_id)
    assert result is not None
    assert (result["resultScore"], result["_grading"], result["_needs_grading"]) == (7.0, "FullyGraded", False)
    final = gradebook(canvas).log[-1]
    assert final["https://canvas.instructure.com/lti/submission"] == {"new_submission": False}
    assert not selectors.scores_needing_review(contexts=learner.link.context).exists()
    audit = AuditEvent.objects.get(action="review.decided")
    assert (audit.actor_type, audit.actor_id) == ("user", str(teacher.user.pk))
    assert (audit.before["review_state"], audit.after["review_state"]) == ("needs_review", "confirmed")
    event = DomainEvent.objects.get(type="review.completed")
    assert event.data["reviewer_sub"] == instructor.user_id


def test_a_grade_is_reviewed_once(canvas, course, student, instructor):
    learner, teacher, _ = _activity(canvas, course, student, instructor)
    score = services.score_submit(user=learner.user, resource_link=learner.link, **AI)
    services.score_review_decide(score=score, reviewer=teacher.user, score_given=7.0)

    with pytest.raises(services.ReviewRefused, match="already been reviewed") as refused:
        services.score_review_decide(score=score, reviewer=teacher.user, score_given=3.0)

    assert refused.value.status == 409


def test_a_learner_cannot_review_grades(canvas, course, student, instructor):
    learner, _, _ = _activity(canvas, course, student, instructor)
    score = services.score_submit(user=learner.user, resource_link=learner.link, **AI)

    with pytest.raises(services.ReviewRefused, match="Only an instructor") as refused:
        services.score_review_decide(score=score, reviewer=learner.user, score_given=10.0)

    assert refused.value.status == 403
    score.refresh_from_db()
    assert score.review_state == "needs_review"


def test_a_review_needs_a_valid_grade(canvas, course, student, instructor):
    learner, teacher, _ = _activity(canvas, course, student, instructor)
    score = services.score_submit(user=learner.user, resource_link=learner.link, **AI)

    with pytest.raises(services.ReviewRefused, match="at least 0"):
        services.score_review_decide(score=score, reviewer=teacher.user, score_given=-2)


def test_a_review_of_a_replaced_grade_is_kept_but_not_posted(canvas, course, student, instructor):
    learner, teacher, url = _activity(canvas, course, student, instructor)
    unsure = services.score_submit(user=learner.user, resource_link=learner.link, **AI)
    retake = services.score_submit(user=learner.user, resource_link=learner.link, score_given=9, score_maximum=10)
    drain()
    assert not selectors.scores_needing_review(contexts=learner.link.context).exists()

    decided = services.score_review_decide(score=unsure, reviewer=teacher.user, score_given=5.0)
    drain()

    assert (decided.review_state, decided.passback_state) == ("overridden", "superseded")
    result = gradebook(canvas).result(url, student.user_id)
    assert result is not None and result["resultScore"] == retake.score_given
