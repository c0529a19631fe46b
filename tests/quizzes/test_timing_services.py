"""Dates, late policy, accommodations and timer extensions, through the services (issue 17, parts 1 and 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lms_tool.core.models import AuditEvent
from lms_tool.grading.models import LineItem, Score
from lms_tool.lti.timezones import datetime_parse, platform_dates, zone_parse
from lms_tool.lti.types import LtiLaunch
from lms_tool.quizzes import services
from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.models import Accommodation, Attempt, LatePolicy, Question
from lms_tool.quizzes.services import accommodations, windows

from .factories import make_course, make_quiz

pytestmark = pytest.mark.django_db


def _launch(custom: dict[str, str]) -> LtiLaunch:
    return LtiLaunch("x", {"https://purl.imsglobal.org/spec/lti/claim/custom": custom}, 1, 1, 1)


def _answer_all_right(attempt: Attempt) -> dict[int, object]:
    out: dict[int, object] = {}
    for question in Question.objects.filter(pk__in=attempt.question_ids):
        out[question.pk] = question.correct if question.is_choice else question.reference_answer
    return out


def test_platform_values_are_read_only_when_they_are_real_zones_and_dates():
    assert zone_parse("Europe/Paris") == ZoneInfo("Europe/Paris")
    # Moodle's "server default", a variable the platform did not expand, a path: no zone.
    assert zone_parse("99") is None and zone_parse("$Person.address.timezone") is None
    assert zone_parse("../etc/passwd") is None and zone_parse("") is None
    assert datetime_parse("2026-12-03T23:59:00Z") == datetime(2026, 12, 3, 23, 59, tzinfo=UTC)
    assert datetime_parse("2026-12-03T23:59:00-05:00") == datetime(2026, 12, 4, 4, 59, tzinfo=UTC)
    # Without an offset the platform's zone is unknown: refused rather than hours off.
    assert datetime_parse("2026-12-03T23:59:00") is None
    assert datetime_parse("$Canvas.assignment.dueAt.iso8601") is None and datetime_parse("") is None
    dates = platform_dates(_launch({"due_at": "2026-12-03T23:59:00Z", "lock_at": "$Canvas.assignment.lockAt.iso8601"}))
    assert dates.due_at == datetime(2026, 12, 3, 23, 59, tzinfo=UTC) and dates.closes_at is None


def test_the_platforms_dates_replace_the_quizs_own_as_a_whole():
    course = make_course()
    quiz = make_quiz(course, count=2)
    now = timezone.now()
    quiz.opens_at, quiz.due_at, quiz.closes_at = (
        now - timedelta(days=1),
        now + timedelta(days=1),
        now + timedelta(days=2),
    )
    own = windows.window_of(quiz=quiz, launch=_launch({}))
    assert (own.due_at, own.from_platform) == (quiz.due_at, False)
    platform_due = (now + timedelta(days=5)).replace(microsecond=0)
    sent = windows.window_of(quiz=quiz, launch=_launch({"due_at": platform_due.isoformat()}))
    assert sent.from_platform and sent.due_at == platform_due and sent.closes_at is None and sent.opens_at is None


def test_close_before_open_and_other_impossible_dates_are_refused_and_nothing_changes():
    course = make_course()
    quiz = make_quiz(course, count=2)
    now = timezone.now()
    cases = [
        (now, None, now - timedelta(hours=1), "close time must be after the open time"),
        (now, now - timedelta(minutes=1), None, "due time must be after the open time"),
        (None, now + timedelta(days=2), now + timedelta(days=1), "close time cannot be before the due time"),
    ]
    for opens, due, closes, words in cases:
        with pytest.raises(QuizError, match=words):
            windows.quiz_dates_update(
                quiz=quiz,
                user=course.instructor,
                opens_at=opens,
                due_at=due,
                closes_at=closes,
                late_policy=LatePolicy.FLAG,
                late_penalty_percent=0,
                timer_extension_minutes=0,
            )
    with pytest.raises(QuizError, match="Give the penalty"):
        windows.quiz_dates_update(
            quiz=quiz,
            user=course.instructor,
            opens_at=None,
            due_at=None,
            closes_at=None,
            late_policy=LatePolicy.PENALTY,
            late_penalty_percent=0,
            timer_extension_minutes=0,
        )
    quiz.refresh_from_db()
    assert (quiz.opens_at, quiz.due_at, quiz.closes_at, quiz.late_policy) == (None, None, None, LatePolicy.FLAG)
    assert not AuditEvent.objects.filter(action="quiz.dates").exists()


def test_a_quiz_refuses_a_start_before_it_opens_and_after_it_closes():
    course = make_course()
    quiz = make_quiz(course, count=2)
    now = timezone.now()
    early = windows.QuizWindow(now + timedelta(hours=1), None, None)
    with pytest.raises(QuizError, match="opens on") as refused:
        services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link, window=early)
    assert refused.value.status == 409
    late = windows.QuizWindow(None, None, now - timedelta(minutes=1))
    with pytest.raises(QuizError, match="closed on"):
        services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link, window=late)
    # Staff preview is not held by the dates.
    assert services.attempt_start(quiz=quiz, user=course.instructor, resource_link=None, preview=True, window=late)
    assert not Attempt.objects.filter(user=course.student).exists()


def test_late_policies_refuse_flag_or_take_the_penalty_off_the_gradebook_score():
    course = make_course()
    quiz = make_quiz(course, count=3, types=["single"], time_limit_minutes=30)
    past_due = windows.QuizWindow(None, timezone.now() - timedelta(hours=1), None)

    quiz.late_policy = LatePolicy.REFUSE
    quiz.save()
    with pytest.raises(QuizError, match="does not accept late attempts"):
        services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link, window=past_due)

    quiz.late_policy, quiz.late_penalty_percent = LatePolicy.PENALTY, 25
    quiz.max_attempts = 2
    quiz.save()
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link, window=past_due)
    attempt = services.attempt_submit(attempt=attempt, responses=_answer_all_right(attempt))
    assert attempt.is_late and attempt.late_penalty_percent == 25
    assert attempt.score == pytest.approx(0.75 * attempt.score_maximum)
    score = Score.objects.get(pk=attempt.score_ref)
    assert score.score_given == pytest.approx(0.75 * attempt.score_maximum)
    assert score.comment == "Submitted late: 25% taken off, as the quiz's late policy says."
    # The column the tool would create carries the due date as its end (AGS endDateTime).
    assert LineItem.objects.get(resource_link=course.link).end_date_time == past_due.due_at

    quiz.late_policy = LatePolicy.FLAG
    quiz.save()
    second = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link, window=past_due)
    second = services.attempt_submit(attempt=second, responses=_answer_all_right(second))
    assert second.is_late and second.late_penalty_percent == 0 and second.score == second.score_maximum
    assert Score.objects.get(pk=second.score_ref).comment == "Submitted late."


def test_refused_late_work_ends_the_attempt_at_the_due_time_on_the_server():
    course = make_course()
    quiz = make_quiz(course, count=2, time_limit_minutes=60)
    quiz.late_policy = LatePolicy.REFUSE
    quiz.save()
    due = timezone.now() + timedelta(minutes=10)
    attempt = services.attempt_start(
        quiz=quiz, user=course.student, resource_link=course.link, window=windows.QuizWindow(None, due, None)
    )
    assert attempt.deadline == due and attempt.closes_at == due
    # The beat closes it after the due time (and its grace) with what was saved, whatever the page's timer said.
    assert services.attempts_close_expired(now=due + timedelta(minutes=1)) == 1
    assert Attempt.objects.get(pk=attempt.pk).state == Attempt.State.SUBMITTED


def test_extra_time_and_attempts_follow_the_learners_allowance():
    course = make_course()
    quiz = make_quiz(course, count=2, time_limit_minutes=30)
    accommodations.accommodation_set(
        context=course.context,
        learner=course.student,
        actor=course.instructor,
        time_factor=1.5,
        extra_minutes=5,
        extra_attempts=1,
    )
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    assert attempt.deadline - attempt.started_at == timedelta(minutes=50)  # 30 x 1.5 + 5
    services.attempt_submit(attempt=attempt)
    second = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)  # 1 + 1 extra
    services.attempt_submit(attempt=second)
    with pytest.raises(QuizError, match="all 2 attempt"):
        services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    described = accommodations.allowance_describe(Accommodation.objects.get(user=course.student))
    assert described == "1.5 \u00d7 the time limit, plus 5 extra minutes; 1 extra attempt"


@pytest.mark.parametrize(
    ("factor", "minutes", "attempts", "words"),
    [
        (None, -10, None, "Extra minutes cannot be negative"),
        (-1.5, None, None, "time factor cannot be negative"),
        (None, None, -1, "Extra attempts cannot be negative"),
        (0.5, None, None, "between 1 and 5"),
    ],
)
def test_a_wrong_allowance_is_refused_in_words_and_changes_nothing(factor, minutes, attempts, words):
    course = make_course()
    accommodations.accommodation_set(
        context=course.context, learner=course.student, actor=course.instructor, time_factor=2.0, extra_minutes=None,
        extra_attempts=None,
    )  # fmt: skip
    with pytest.raises(QuizError, match=words):
        accommodations.accommodation_set(
            context=course.context,
            learner=course.student,
            actor=course.instructor,
            time_factor=factor,
            extra_minutes=minutes,
            extra_attempts=attempts,
        )
    kept = Accommodation.objects.get(user=course.student)
    assert (kept.time_factor, kept.extra_minutes, kept.extra_attempts) == (2.0, 0, 0)


def test_a_learner_extends_their_own_timer_ten_times_at_most_and_never_past_the_close():
    course = make_course()
    quiz = make_quiz(course, count=2, time_limit_minutes=10)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    with pytest.raises(QuizError, match="not allowed extending") as refused:
        windows.attempt_extend(attempt=attempt)
    assert refused.value.status == 403
    quiz.timer_extension_minutes = 5
    quiz.save()
    first_deadline = attempt.deadline
    for _ in range(windows.MAX_EXTENSIONS):
        attempt = windows.attempt_extend(attempt=attempt)
    assert attempt.deadline == first_deadline + timedelta(minutes=5 * windows.MAX_EXTENSIONS)
    with pytest.raises(QuizError, match="all 10 extensions"):
        windows.attempt_extend(attempt=attempt)

    closes = timezone.now() + timedelta(minutes=12)
    other = make_course(suffix="-2")
    quiz2 = make_quiz(other, count=2, time_limit_minutes=10)
    quiz2.timer_extension_minutes = 5
    quiz2.save()
    capped = services.attempt_start(
        quiz=quiz2, user=other.student, resource_link=other.link, window=windows.QuizWindow(None, None, closes)
    )
    capped = windows.attempt_extend(attempt=capped)
    assert capped.deadline == closes  # 10 + 5 would pass the close at 12
    with pytest.raises(QuizError, match="cannot be extended past it"):
        windows.attempt_extend(attempt=capped)
