"""Dates, time zones, accommodations and extensions through the pages, with real launches from the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from lms_tool.lti.timezones import launch_zone
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Accommodation, Attempt, LatePolicy, Quiz
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from .factories import course_text
from .flow import Seat, return_form, seat

pytestmark = pytest.mark.usefixtures("eager")


def _quiz(teacher: Seat, *, publish: bool = True, **options: object) -> Quiz:
    quiz, run = services.quiz_create(
        context=teacher.context,
        user=teacher.instructor,
        title="Heart quiz",
        text=course_text(),
        count=2,
        types=["single"],
        **options,  # type: ignore[arg-type]
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=quiz, user=teacher.instructor)
    if publish:
        services.quiz_publish(quiz=quiz, user=teacher.instructor)
    quiz.refresh_from_db()
    return quiz


def _get(who: Seat, tool_url: str, path: str):  # type: ignore[no-untyped-def]
    return who.session.get(f"{tool_url}{path}", params={"launch": who.launch_id}, timeout=15)


def _post(who: Seat, tool_url: str, path: str, data: dict[str, str], **headers: str):  # type: ignore[no-untyped-def]
    return who.session.post(f"{tool_url}{path}", data={"launch": who.launch_id, **data}, headers=headers, timeout=15)


def test_an_instructor_sets_dates_in_their_zone_and_learners_see_them_in_theirs(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course, custom={"person_timezone": "America/New_York"}))
    quiz = _quiz(teacher)
    page = _get(teacher, tool_url, f"/quizzes/{quiz.pk}/dates/")
    assert page.status_code == 200 and "America/New_York" in page.text

    refused = _post(
        teacher,
        tool_url,
        f"/quizzes/{quiz.pk}/dates/",
        {"opens_at": "2026-12-10T09:00", "closes_at": "2026-12-09T09:00", "late_policy": "flag"},
    )
    assert refused.status_code == 400 and "The close time must be after the open time" in refused.text
    assert Quiz.objects.get(pk=quiz.pk).opens_at is None  # nothing half-written

    saved = _post(
        teacher,
        tool_url,
        f"/quizzes/{quiz.pk}/dates/",
        {"due_at": "2030-12-10T17:00", "late_policy": "penalty", "late_penalty_percent": "10"},
    )
    assert saved.status_code == 200 and 'data-view="quiz-manage"' in saved.text, saved.text[:300]
    quiz.refresh_from_db()
    # 17:00 in New York in December (EST, UTC-5) is 22:00 UTC; it is stored in UTC.
    assert quiz.due_at == datetime(2030, 12, 10, 22, 0, tzinfo=UTC) and quiz.late_policy == LatePolicy.PENALTY
    assert "Tue 10 Dec 2030, 17:00 (America/New_York)" in saved.text

    learner = seat(canvas, LaunchSpec(student, course, custom={"person_timezone": "Asia/Tokyo"}))
    take = _get(learner, tool_url, f"/quizzes/{quiz.pk}/take/")
    assert "Wed 11 Dec 2030, 07:00 (Asia/Tokyo)" in take.text  # the same instant, in the learner's zone
    assert "10% taken off the score" in take.text and 'data-testid="platform-dates"' not in take.text


def test_the_platforms_dates_and_zone_win_else_the_tools_dates_in_the_browsers_zone(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = _quiz(teacher)
    quiz.due_at = timezone.now() + timedelta(days=30)
    quiz.save()
    platform_due = "2031-01-15T12:00:00Z"
    learner = seat(
        canvas,
        LaunchSpec(
            student,
            course,
            custom={
                "activity": f"quiz:{quiz.pk}",
                "due_at": platform_due,  # what Canvas expands $Canvas.assignment.dueAt.iso8601 to
                "lock_at": "$Canvas.assignment.lockAt.iso8601",  # not expanded: no date
                "person_timezone": "Europe/Paris",
            },
        ),
    )
    take = _get(learner, tool_url, f"/quizzes/{quiz.pk}/take/")
    assert 'data-testid="platform-dates"' in take.text and "set in your course platform" in take.text
    assert "Wed 15 Jan 2031, 13:00 (Europe/Paris)" in take.text
    started = _post(learner, tool_url, f"/quizzes/{quiz.pk}/take/", {})
    assert started.status_code == 200
    attempt = Attempt.objects.get(quiz=quiz)
    assert attempt.due_at == datetime(2031, 1, 15, 12, 0, tzinfo=UTC)

    # Without the platform's zone or dates: the tool's due date, in the server's zone until the browser reports one.
    plain = seat(canvas, LaunchSpec(student, course))
    before = _get(plain, tool_url, f"/quizzes/{quiz.pk}/take/")
    assert 'data-zone-source="default"' in before.text and "(UTC)" in before.text
    assert quiz.due_at.strftime("%H:%M (UTC)") in before.text
    bad = _post(plain, tool_url, "/lti/timezone/", {"zone": "Mars/Olympus"})
    assert bad.status_code == 400 and "IANA time zone" in bad.json()["message"]
    reported = _post(plain, tool_url, "/lti/timezone/", {"zone": "Europe/Berlin"})
    assert reported.json() == {"zone": "Europe/Berlin", "source": "browser"}
    after = _get(plain, tool_url, f"/quizzes/{quiz.pk}/take/")
    assert "(Europe/Berlin)" in after.text and "your browser's time zone" in after.text
    # A zone the platform sends still wins over the browser's.
    again = seat(canvas, LaunchSpec(student, course, custom={"person_timezone": "Asia/Tokyo"}))
    assert launch_zone(again.lti).name == "Asia/Tokyo"


def test_an_instructor_gives_one_learner_extra_time_the_learner_sees_it_and_extends_their_timer(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = _quiz(teacher, time_limit_minutes=30)
    learner = seat(canvas, LaunchSpec(student, course))
    learner_pk = learner.lti.user_pk
    page = _get(teacher, tool_url, "/quizzes/accommodations/")
    assert page.status_code == 200 and f'data-user="{learner_pk}"' in page.text

    refused = _post(teacher, tool_url, "/quizzes/accommodations/", {"user": str(learner_pk), "extra_minutes": "-10"})
    assert refused.status_code == 400 and "Extra minutes cannot be negative" in refused.text
    assert not Accommodation.objects.exists()
    teacher_pk = teacher.lti.user_pk  # staff are not learners: no allowance for them, the same 404 as a stranger
    for someone in (str(teacher_pk), "987654321", "abc"):
        missing = _post(teacher, tool_url, "/quizzes/accommodations/", {"user": someone, "time_factor": "2"})
        assert missing.status_code == 404 and "no such learner in this course" in missing.text
    assert not Accommodation.objects.exists()

    saved = _post(teacher, tool_url, "/quizzes/accommodations/", {"user": str(learner_pk), "time_factor": "1.5"})
    assert saved.status_code == 200 and 'data-testid="saved"' in saved.text
    assert "1.5 \u00d7 the time limit" in saved.text

    take = _get(learner, tool_url, f"/quizzes/{quiz.pk}/take/")
    assert 'data-testid="allowance"' in take.text and "Your time limit for this quiz is 45 minutes" in take.text
    _post(learner, tool_url, f"/quizzes/{quiz.pk}/take/", {})
    attempt = Attempt.objects.get(quiz=quiz)
    assert attempt.deadline - attempt.started_at == timedelta(minutes=45)  # the server's limit, not the page's

    # A student cannot open the page, nor set their own allowance.
    assert _get(learner, tool_url, "/quizzes/accommodations/").status_code == 403
    own = _post(learner, tool_url, "/quizzes/accommodations/", {"user": str(learner_pk), "extra_attempts": "9"})
    assert own.status_code == 403 and Accommodation.objects.get().extra_attempts == 0

    # The learner extends their own timer only where the instructor allows it (WCAG 2.2.1).
    page = _get(learner, tool_url, f"/quizzes/attempts/{attempt.pk}/")
    assert 'data-testid="extend"' not in page.text
    refused = _post(learner, tool_url, f"/quizzes/attempts/{attempt.pk}/extend/", {}, Accept="application/json")
    assert refused.status_code == 403 and "not allowed extending" in refused.json()["message"]
    quiz.timer_extension_minutes = 5
    quiz.save()
    page = _get(learner, tool_url, f"/quizzes/attempts/{attempt.pk}/")
    assert "Add 5 minutes" in page.text and "10 extensions left" in page.text
    extended = _post(learner, tool_url, f"/quizzes/attempts/{attempt.pk}/extend/", {}, Accept="application/json")
    assert extended.status_code == 200, extended.text
    assert extended.json()["extensions_left"] == 9 and extended.json()["seconds_left"] > 49 * 60
    assert Attempt.objects.get(pk=attempt.pk).deadline == attempt.deadline + timedelta(minutes=5)


def test_deep_linking_sends_the_quizs_windows_and_due_date(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    quiz = _quiz(teacher, publish=False)
    quiz.opens_at = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
    quiz.due_at = datetime(2030, 3, 8, 22, 0, tzinfo=UTC)
    quiz.closes_at = datetime(2030, 3, 15, 22, 0, tzinfo=UTC)
    quiz.late_policy = LatePolicy.FLAG
    quiz.save()
    published = _post(teacher, tool_url, f"/quizzes/{quiz.pk}/publish/", {"pick": "1"})
    action, fields = return_form(published.text)
    teacher.session.post(action, data=fields, timeout=10)
    item = deep_linking_log(canvas).responses[0]["items"][0]
    assert item["available"] == {"startDateTime": "2030-03-01T08:00:00Z", "endDateTime": "2030-03-15T22:00:00Z"}
    # Late work is accepted until the close: submissions run to the close, the column ends at the due date.
    assert item["submission"] == {"startDateTime": "2030-03-01T08:00:00Z", "endDateTime": "2030-03-15T22:00:00Z"}
    assert item["lineItem"]["endDateTime"] == "2030-03-08T22:00:00Z"
