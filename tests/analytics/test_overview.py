"""The course home's figures and a quiz's results cost the same number of queries for any course size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms_tool.analytics.overview import course_overview
from lms_tool.analytics.results import quiz_results
from lms_tool.lti.types import LtiLaunch

from ..quizzes.factories import make_course
from .builders import learner, quiz_with, take

pytestmark = pytest.mark.django_db


def _launch(course) -> LtiLaunch:  # type: ignore[no-untyped-def]
    return LtiLaunch(
        launch_id="x",
        claims={},
        registration_id=course.registration.pk,
        deployment_pk=0,
        user_pk=course.instructor.pk,
        context_pk=course.context.pk,
    )


def _queries(fn, **kwargs) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        fn(**kwargs)
    return len(queries)


def test_figures_cost_a_constant_number_of_queries():
    course = make_course()
    questions = [{"type": "single", "options": ["a", "b"], "correct": [0]}]
    first = quiz_with(course.context, questions, title="One")
    take(first, learner(course.context, "Ann"), course.link, [0])
    small = _queries(course_overview, launch=_launch(course), context_pk=course.context.pk)
    small_results = _queries(quiz_results, quiz=first)

    for number in range(3):
        quiz = quiz_with(course.context, questions, title=f"More {number}", max_attempts=2)
        for name in ("Ben", "Cai", "Dee", "Eva"):
            who = learner(course.context, f"{name}{number}")
            take(quiz, who, course.link, [1])
            take(quiz, who, course.link, [0])
    for name in ("Fay", "Gus", "Hal"):
        take(first, learner(course.context, name), course.link, [1])

    overview = course_overview(launch=_launch(course), context_pk=course.context.pk)
    assert _queries(course_overview, launch=_launch(course), context_pk=course.context.pk) == small
    assert _queries(quiz_results, quiz=first) == small_results
    by_title = {row.title: row for row in overview.rows}
    assert by_title["More 0"].attempts == 8 and by_title["More 0"].learners == 4
    assert by_title["More 0"].average == 0.5 and by_title["One"].average == 0.25
    rows = quiz_results(quiz=quiz)
    assert [(r.attempts, r.best, r.last) for r in rows] == [(2, 1.0, 1.0)] * 4
