"""Item analysis against the worked example of docs/analytics.md (computed by hand there), the flags, and the
regrade of attempts after a corrected key (scores re-posted through the outbox, recorded in the audit log)."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms_tool.analytics.items import item_as_dict, quiz_item_analysis
from lms_tool.analytics.stats import Moments, discrimination, efficiency, sorted_cross_products, upper_threshold
from lms_tool.core.models import AuditEvent
from lms_tool.grading.models import PassbackState, Score
from lms_tool.quizzes import services
from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.models import Attempt, Question

from ..quizzes.factories import make_course
from .builders import quiz_with, worked_example, wrong_key_quiz

pytestmark = pytest.mark.django_db


def test_the_worked_example_gives_the_figures_computed_by_hand():
    course = make_course()
    quiz = worked_example(course.context, course.link)

    analysis = quiz_item_analysis(quiz=quiz)

    # docs/analytics.md, "A worked example": F = 4/6, 3/6, 2/6; D = 2/sqrt(34), 0, 2/sqrt(34); E = 2/5, 0, 2/5.
    assert analysis.attempts == 6
    assert [item_as_dict(item) for item in analysis.items] == [
        {"attempts": 6, "facility": 0.6667, "discrimination": 0.343, "efficiency": 0.4, "flags": []},
        {"attempts": 6, "facility": 0.5, "discrimination": 0.0, "efficiency": 0.0, "flags": []},
        {"attempts": 6, "facility": 0.3333, "discrimination": 0.343, "efficiency": 0.4, "flags": []},
    ]
    assert math.isclose(analysis.items[0].discrimination or 0, 2 / math.sqrt(34), rel_tol=1e-9)
    # Totals 3, 2, 2, 1, 1, 0: the best 27% of six is two attempts, and the tie at 2 joins them.
    assert analysis.upper_threshold == 2
    choice = analysis.items[1]
    assert [(o.text, o.is_key, o.count, o.upper_count) for o in choice.options] == [
        ("Mitochondria", True, 3, 2),
        ("Nucleus", False, 2, 1),
        ("Golgi body", False, 1, 0),
        ("Vacuole", False, 0, 0),
    ]


def test_the_statistics_from_sums_match_the_definitions_on_raw_lists():
    x = [1.0, 0.5, 0.0, 1.0, 0.25, 0.75, 0.0]
    rest = [4.0, 2.5, 1.0, 3.5, 2.0, 1.0, 0.5]
    n = len(x)
    moments = Moments(
        n,
        sum(x),
        sum(v * v for v in x),
        sum(rest),
        sum(v * v for v in rest),
        sum(a * b for a, b in zip(x, rest, strict=True)),
    )
    mx, mr = sum(x) / n, sum(rest) / n
    cov = sum((a - mx) * (b - mr) for a, b in zip(x, rest, strict=True))
    r = cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - mr) ** 2 for b in rest))
    cov_max = sum((a - mx) * (b - mr) for a, b in zip(sorted(x), sorted(rest), strict=True))
    hist = lambda values: [(v, values.count(v)) for v in set(values)]  # noqa: E731

    assert math.isclose(discrimination(moments) or 0, r, rel_tol=1e-12)
    assert math.isclose(sorted_cross_products(hist(x), hist(rest), mx, mr), cov_max, rel_tol=1e-12)
    assert math.isclose(efficiency(moments, hist(x), hist(rest)) or 0, cov / cov_max, rel_tol=1e-12)
    assert discrimination(Moments(3, 3, 3, 2, 2, 2)) is None  # everyone right: no spread, no correlation
    assert upper_threshold([(10.0, 1), (5.0, 3), (1.0, 6)]) == 5.0  # ceil(2.7) = 3 best, ties at 5 included


def test_flags_point_at_the_weak_questions_in_a_constant_number_of_queries():
    course = make_course()
    quiz = wrong_key_quiz(course.context, course.link)

    with CaptureQueriesContext(connection) as queries:
        analysis = quiz_item_analysis(quiz=quiz)

    flags = {item.number: [flag.code for flag in item.flags] for item in analysis.items}
    assert "distractor_beats_key" in flags[2] and "negative_discrimination" in flags[2]
    assert "unused_distractor" in flags[2]  # nobody picked "Vacuole"
    assert flags[3] == ["too_easy"]  # everyone answered True
    assert flags[1] == [] and flags[4] == [] and flags[5] == []
    assert len(queries) <= 10, [q["sql"][:80] for q in queries]


def test_a_corrected_key_regrades_old_attempts_reposts_changed_scores_and_is_audited():
    course = make_course()
    quiz = wrong_key_quiz(course.context, course.link)
    old = quiz.questions.get(position=2)
    before = {a.pk: a.score for a in Attempt.objects.filter(quiz=quiz)}
    with pytest.raises(QuizError):  # not replaced yet: nothing to regrade with
        services.question_regrade(question=old, user=course.instructor)

    draft = services.question_draft_from_form(
        kind="single",
        data={
            "prompt": "Where is ATP made?",
            "options": old.options,
            "answer_index": 0,
            "explanation": "ATP is made in mitochondria.",
            "source_passage": "",
        },
    )
    new = services.question_update(question=old, user=course.instructor, draft=draft, points=1)
    result = services.question_regrade(question=Question.objects.get(pk=old.pk), user=course.instructor)

    after = {a.pk: a for a in Attempt.objects.filter(quiz=quiz)}
    changed = {pk for pk in after if after[pk].score != before[pk]}
    # Six strong learners gain a point (they picked Mitochondria); the five weak ones who picked Nucleus lose one.
    assert result.attempts_changed == len(changed) == 11 and result.scores_reposted == 11
    assert sorted(after[pk].score - before[pk] for pk in changed) == [-1.0] * 5 + [1.0] * 6
    for pk in changed:
        score = Score.objects.get(pk=after[pk].score_ref)
        assert score.score_given == after[pk].score and score.source == "instructor"
        assert score.passback_state == PassbackState.PENDING
    line = AuditEvent.objects.get(action="quiz.question.regrade", object_id=str(old.pk))
    assert line.before["correct"] == [1] and line.after["correct"] == [0] and line.after["revision"] == new.pk
    assert line.after["attempts"] == {str(pk): [before[pk], after[pk].score] for pk in changed}
    # The old revision keeps its key and its attempts; the page no longer offers the regrade.
    assert Question.objects.get(pk=old.pk).correct == [1]
    analysis = quiz_item_analysis(quiz=quiz)
    assert next(item for item in analysis.items if item.question.pk == old.pk).regraded


def test_a_pooled_quiz_counts_each_question_over_the_attempts_that_drew_it():
    """Issue 17's pools meet issue 16's item analysis: a question no attempt drew is not scored 0 for it."""
    from lms_tool.quizzes.selectors import question_seen_counts

    from .builders import learner

    course = make_course()
    quiz = quiz_with(
        course.context,
        [{"type": "true_false", "options": ["True", "False"], "correct": [0]} for _ in range(4)],
        title="Pool",
    )
    quiz.draw_count = 2
    quiz.save(update_fields=["draw_count"])
    attempts = []
    for n in range(8):
        attempt = services.attempt_start(quiz=quiz, user=learner(course.context, f"p{n}"), resource_link=course.link)
        attempts.append(services.attempt_submit(attempt=attempt, responses={q: 0 for q in attempt.question_ids}))

    drawn: dict[int, int] = {}
    for attempt in attempts:
        assert len(attempt.question_ids) == 2
        for question_id in attempt.question_ids:
            drawn[question_id] = drawn.get(question_id, 0) + 1
    analysis = quiz_item_analysis(quiz=quiz)

    by_question = {item.question.pk: item for item in analysis.items if item.attempts}
    assert {pk: item.attempts for pk, item in by_question.items()} == drawn == question_seen_counts(quiz=quiz)
    assert all(item.facility == 1.0 for item in by_question.values())  # every drawn answer was right
    assert sum(drawn.values()) == 16 and len(drawn) >= 2
