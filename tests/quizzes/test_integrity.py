"""Integrity settings: draw, shuffle, answer release, one question per page, review (docs/assessment.md).

The services directly for what needs many attempts; the pages over HTTP with real launches from the sandbox
platform for what a learner or an instructor can ask for, including what they must not get.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.lti.models import Context, LtiUser
from lms_tool.quizzes import selectors, services
from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.models import AnswerRelease, Attempt, AttemptQuestion, Question, Quiz
from lms_tool.quizzes.services import delivery
from lms_tool.sandbox.platform import LaunchSpec

from .factories import make_course, make_quiz
from .flow import Seat, seat

INTEGRITY = {
    "shuffle_questions": False,
    "shuffle_options": False,
    "draw_count": None,
    "show_answers": AnswerRelease.AFTER_SUBMIT,
    "one_per_page": False,
    "allow_review": True,
}


def integrity(quiz: Quiz, **changes: object) -> Quiz:
    return delivery.quiz_integrity_update(quiz=quiz, user=None, **{**INTEGRITY, **changes})  # type: ignore[arg-type]


def learner_n(course, n: int) -> LtiUser:  # type: ignore[no-untyped-def]
    return LtiUser.objects.create(registration=course.registration, sub=f"learner-{n}", name=f"L{n}")


# -- services ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_draw_gives_each_learner_n_questions_recorded_on_the_attempt_and_graded_out_of_those():
    course = make_course()
    quiz = make_quiz(course, count=6, types=["single", "true_false", "short"])
    for n, question in enumerate(quiz.questions.all(), start=1):
        Question.objects.filter(pk=question.pk).update(points=n)  # different points: the maximum shows the draw
    quiz = integrity(quiz, draw_count=3)

    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    drawn = selectors.attempt_questions(attempt=attempt)
    outside = quiz.questions.exclude(pk__in=attempt.question_ids).first()
    with pytest.raises(QuizError) as refused:
        services.answer_save(attempt=attempt, question_id=outside.pk, response="0")
    submitted = services.attempt_submit(attempt=attempt)

    assert len(drawn) == 3 and [q.pk for q in drawn] == attempt.question_ids
    assert list(AttemptQuestion.objects.filter(attempt=attempt).values_list("question_id", flat=True)) == [
        q.pk for q in drawn
    ]
    assert [q.position for q in drawn] == sorted(q.position for q in drawn), "no shuffle: the quiz's order"
    assert refused.value.status == 404
    assert submitted.score_maximum == sum(q.points for q in drawn)
    assert set(submitted.answers.values_list("question_id", flat=True)) == set(attempt.question_ids)
    assert selectors.question_seen_counts(quiz=quiz) == {q.pk: 1 for q in drawn}


@pytest.mark.django_db
def test_shuffled_orders_differ_between_learners_and_grading_goes_by_option_not_position():
    course = make_course()
    quiz = make_quiz(course, count=4, types=["single", "multiple"])
    quiz = integrity(quiz, shuffle_questions=True, shuffle_options=True)
    written = list(quiz.questions.approved().values_list("pk", flat=True))

    orders, option_orders = set(), set()
    for n in range(12):
        attempt = services.attempt_start(quiz=quiz, user=learner_n(course, n), resource_link=course.link)
        rows = selectors.attempt_seen(attempt=attempt)
        orders.add(tuple(attempt.question_ids))
        for row in rows:
            assert sorted(row.option_order) == list(range(len(row.question.options)))
            option_orders.add((row.question_id, tuple(row.option_order)))
        # The right options by their index as written: full marks whatever order they were shown in.
        right = {row.question_id: [str(i) for i in row.question.correct] for row in rows}
        assert services.attempt_submit(attempt=attempt, responses=right).score == 4

    assert sorted(next(iter(orders))) == sorted(written)
    # 12 learners all given the written order: (1/24)^12 for the questions alone.
    assert len(orders) > 1 and len(option_orders) > len(written)


@pytest.mark.django_db
def test_a_draw_larger_than_the_pool_is_refused_at_the_settings_and_at_publishing():
    course = make_course()
    quiz = make_quiz(course, count=3, types=["single"], publish=False)

    with pytest.raises(QuizError, match="cannot draw 4 questions: the quiz has 0 approved"):
        integrity(quiz, draw_count=4)
    services.questions_approve_all(quiz=quiz, user=course.instructor)
    with pytest.raises(QuizError, match="cannot draw 4 questions: the quiz has 3 approved"):
        integrity(quiz, draw_count=4, shuffle_questions=True)
    with pytest.raises(QuizError, match="at least 1"):
        integrity(quiz, draw_count=0)
    integrity(quiz, draw_count=3)
    Question.objects.filter(pk=quiz.questions.first().pk).update(status=Question.Status.DRAFT)
    quiz.questions.filter(status=Question.Status.DRAFT).delete()
    with pytest.raises(QuizError, match="cannot draw 3 questions: the quiz has 2 approved"):
        services.quiz_publish(quiz=quiz, user=course.instructor)

    quiz.refresh_from_db()
    assert quiz.draw_count == 3 and not quiz.shuffle_questions and not quiz.is_published


@pytest.mark.django_db
def test_answers_are_released_by_the_rule_and_a_missing_date_means_not_yet():
    course = make_course()
    quiz = make_quiz(course, count=1, types=["true_false"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    now = timezone.now()

    assert not delivery.quiz_answers_released(quiz, attempt, now), "never while the attempt is open"
    attempt = services.attempt_submit(attempt=attempt)
    released = {}
    for rule in AnswerRelease.values:
        quiz.show_answers = rule
        released[rule] = delivery.quiz_answers_released(quiz, attempt, now)
    assert released == {"never": False, "after_submit": True, "after_due": False, "after_close": False}

    # The timing work's dates, read through the seam only (delivery.quiz_due_at / quiz_close_at).
    quiz.due_at, quiz.closes_at = now + timedelta(hours=1), now + timedelta(days=1)
    quiz.show_answers = AnswerRelease.AFTER_DUE
    assert not delivery.quiz_answers_released(quiz, attempt, now)
    assert delivery.quiz_answers_released(quiz, attempt, now + timedelta(hours=2))
    quiz.show_answers = AnswerRelease.AFTER_CLOSE
    assert not delivery.quiz_answers_released(quiz, attempt, now + timedelta(hours=2))
    assert delivery.quiz_answers_released(quiz, attempt, now + timedelta(days=2))
    assert delivery.answers_release_note(quiz, attempt) == (
        "Correct answers and explanations will be shown here after the quiz closes",
        quiz.closes_at,
    )
    # The attempt's own date (the window it started under) counts too: the later one releases.
    attempt.closes_at = now + timedelta(days=3)
    assert not delivery.quiz_answers_released(quiz, attempt, now + timedelta(days=2))
    assert delivery.quiz_answers_released(quiz, attempt, now + timedelta(days=4))


@pytest.mark.django_db
def test_a_question_an_open_attempt_drew_is_retired_not_deleted_and_still_graded():
    course = make_course()
    quiz = make_quiz(course, count=2, types=["true_false"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    question = Question.objects.get(pk=attempt.question_ids[0])

    services.question_delete(question=question, user=course.instructor)
    submitted = services.attempt_submit(attempt=attempt)

    question.refresh_from_db()
    assert not question.is_current and submitted.score_maximum == 2
    assert quiz.questions.current().count() == 1


@pytest.mark.django_db
def test_a_courses_copy_of_a_quiz_keeps_its_integrity_settings():
    course = make_course()
    quiz = integrity(make_quiz(course, count=3), draw_count=2, shuffle_options=True, show_answers="never")
    other = Context.objects.create(
        registration=course.registration, deployment=course.context.deployment, context_id="c-2", title="Bio 2"
    )

    copy = services.quiz_copy(original=quiz, context=other, actor=None)

    assert delivery.integrity_of(copy) == delivery.integrity_of(quiz) and copy.draw_count == 2


# -- pages ---------------------------------------------------------------------------------------------------


def settings_form(launch_id: str, **changes: str) -> dict[str, str]:
    form = {
        "launch": launch_id,
        "title": "Heart quiz",
        "max_attempts": "0",
        "review_threshold": "0.8",
        "integrity": "1",
        "show_answers": "after_submit",
        "one_per_page": "0",
        "allow_review": "on",
    }
    return {k: v for k, v in {**form, **changes}.items() if v is not None}


def test_an_instructor_sets_integrity_on_the_settings_page_and_bad_input_changes_nothing(
    canvas, course, instructor, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=4, types=["single", "true_false"])
    url = f"{tool_url}/quizzes/{quiz.pk}/settings/"
    page = teacher.session.get(f"{tool_url}/quizzes/{quiz.pk}/manage/", params={"launch": teacher.launch_id})
    assert 'data-testid="integrity-settings"' in page.text and "This quiz has 4 approved questions." in page.text

    too_many = teacher.session.post(url, data=settings_form(teacher.launch_id, title="Renamed", draw_count="5"))
    negative = teacher.session.post(url, data=settings_form(teacher.launch_id, draw_count="-1"))
    unknown = teacher.session.post(url, data=settings_form(teacher.launch_id, show_answers="tomorrow"))
    unchanged = Quiz.objects.get(pk=quiz.pk)
    saved = teacher.session.post(
        url,
        data=settings_form(
            teacher.launch_id,
            shuffle_questions="on",
            shuffle_options="on",
            draw_count="3",
            show_answers="after_close",
            one_per_page="1",
            allow_review=None,
        ),
    )
    older = teacher.session.post(url, data={**settings_form(teacher.launch_id), "integrity": ""})

    assert too_many.status_code == 400
    assert "cannot draw 5 questions: the quiz has 4 approved questions" in html.unescape(too_many.text)
    assert negative.status_code == 400 and "Questions each learner draws" in negative.text
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.text
    assert unchanged.title == "Heart quiz" and unchanged.draw_count is None, "a refused save changes nothing"
    assert saved.status_code == 200 and 'data-testid="draw-summary"' in saved.text
    assert older.status_code == 200
    quiz.refresh_from_db()
    assert delivery.integrity_of(quiz) == {
        "shuffle_questions": True,
        "shuffle_options": True,
        "draw_count": 3,
        "show_answers": "after_close",
        "one_per_page": True,
        "allow_review": False,
    }


def start(tool_url: str, canvas, course, student, quiz: Quiz) -> tuple[Seat, Attempt]:  # type: ignore[no-untyped-def]
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    learner.session.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": learner.launch_id}, timeout=10)
    return learner, Attempt.objects.get(quiz=quiz, user__sub=student.user_id)


def test_a_learner_sees_only_their_draw_in_their_order_and_cannot_reach_the_rest(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = integrity(make_quiz(teacher, count=6, types=["single", "multiple"]), draw_count=2, shuffle_options=True)
    learner, attempt = start(tool_url, canvas, course, student, quiz)
    s, launch_id = learner.session, learner.launch_id
    page_url = f"{tool_url}/quizzes/attempts/{attempt.pk}/"

    first, again = (s.get(page_url, params={"launch": launch_id}, timeout=10).text for _ in range(2))
    shown = [int(q) for q in re.findall(r'data-question="(\d+)"', first)]
    values = re.findall(r'name="q(\d+)" value="(\d+)"', first)
    outside = quiz.questions.exclude(pk__in=attempt.question_ids)
    autosave = s.post(
        f"{page_url}answer/",
        json={"question": outside[0].pk, "response": [0]},
        headers={"X-LTI-Launch": launch_id, "Accept": "application/json"},
        timeout=10,
    )
    staff_only = s.get(f"{tool_url}/quizzes/{quiz.pk}/manage/", params={"launch": launch_id}, timeout=10)

    assert shown == attempt.question_ids and len(shown) == 2
    assert first == again, "the same page on every reload"
    rows = {row.question_id: row.option_order for row in selectors.attempt_seen(attempt=attempt)}
    assert [(int(q), int(i)) for q, i in values] == [(q, i) for q in shown for i in rows[q]]
    drawn_prompts = {q.prompt for q in Question.objects.filter(pk__in=shown)}
    assert all(f'name="q{q.pk}"' not in first for q in outside)
    assert all(q.prompt not in html.unescape(first) for q in outside if q.prompt not in drawn_prompts)
    assert autosave.status_code == 404 and staff_only.status_code == 403

    result = s.post(
        f"{page_url}submit/",
        data={"launch": launch_id, **{f"q{q.pk}": "0" for q in outside}},
        timeout=10,
    )
    assert result.status_code == 200 and 'data-testid="score"' in result.text
    assert not attempt.answers.filter(question__in=outside).exists()
    assert Attempt.objects.get(pk=attempt.pk).score_maximum == 2


def test_answers_stay_hidden_until_released_and_review_off_shows_the_score_only(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = integrity(make_quiz(teacher, count=2, types=["single", "short"]), show_answers="after_due")
    learner, attempt = start(tool_url, canvas, course, student, quiz)
    s, launch_id = learner.session, learner.launch_id
    result_url = f"{tool_url}/quizzes/attempts/{attempt.pk}/result/"
    early = s.get(result_url, params={"launch": launch_id}, timeout=10)
    assert early.url.split("?")[0].endswith(f"/attempts/{attempt.pk}/"), "no result while open"
    s.post(f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/", data={"launch": launch_id}, timeout=10)
    questions = list(Question.objects.filter(pk__in=attempt.question_ids))

    held = html.unescape(s.get(result_url, params={"launch": launch_id}, timeout=10).text)
    integrity(quiz, show_answers="after_close")
    Quiz.objects.filter(pk=quiz.pk).update(closes_at=timezone.now() + timedelta(days=1))
    until_close = html.unescape(s.get(result_url, params={"launch": launch_id}, timeout=10).text)
    integrity(quiz, show_answers="after_submit")
    shown = html.unescape(s.get(result_url, params={"launch": launch_id}, timeout=10).text)
    integrity(quiz, allow_review=False)
    score_only = html.unescape(s.get(result_url, params={"launch": launch_id}, timeout=10).text)
    staff = html.unescape(
        teacher.session.get(
            f"{tool_url}/quizzes/attempts/{attempt.pk}/result/", params={"launch": teacher.launch_id}, timeout=10
        ).text
    )

    assert "will be shown here after the due date." in held
    assert "will be shown here after the quiz closes (<time datetime=" in until_close
    assert all(q.explanation not in until_close for q in questions)
    assert all(q.explanation not in held for q in questions) and "correct-answer" not in held
    assert all(q.prompt in held for q in questions), "the learner's own answers stay reviewable"
    assert all(q.explanation in shown for q in questions) and 'data-testid="correct-answer"' in shown
    assert 'data-testid="review-off"' in score_only and 'data-testid="score"' in score_only
    assert all(q.prompt not in score_only and q.explanation not in score_only for q in questions)
    assert "There is no such attempt" in staff, "a teacher's launch reaches no learner's result page"


def test_one_question_per_page_saves_on_every_move_and_refuses_a_page_that_is_not_there(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = integrity(make_quiz(teacher, count=3, types=["short"]), one_per_page=True)
    learner, attempt = start(tool_url, canvas, course, student, quiz)
    s, launch_id = learner.session, learner.launch_id
    page_url = f"{tool_url}/quizzes/attempts/{attempt.pk}/"
    first, second, third = attempt.question_ids

    page1 = s.get(page_url, params={"launch": launch_id}, timeout=10)
    moved = s.post(page_url, data={"launch": launch_id, "page": "1", f"q{first}": "blood", "goto": "3"}, timeout=10)
    back = s.post(page_url, data={"launch": launch_id, "page": "3", f"q{third}": "atria", "goto": "1"}, timeout=10)
    missing = [s.get(page_url, params={"launch": launch_id, "page": p}, timeout=10) for p in ("4", "0", "two")]
    bad_goto = s.post(page_url, data={"launch": launch_id, "page": "1", "goto": "9"}, timeout=10)

    assert re.findall(r'data-question="(\d+)"', page1.text) == [str(first)] and 'data-testid="pager"' in page1.text
    assert moved.url.endswith("page=3") and re.findall(r'data-question="(\d+)"', moved.text) == [str(third)]
    assert 'value="blood"' in back.text and "Question 1 of 3" in back.text
    assert attempt.answers.get(question_id=first).response == "blood"
    assert attempt.answers.get(question_id=third).response == "atria"
    assert not attempt.answers.filter(question_id=second).exists()
    assert all(r.status_code == 404 and "its questions are 1 to 3" in r.text for r in missing)
    assert bad_goto.status_code == 404
    submitted = s.post(f"{page_url}submit/", data={"launch": launch_id, "page": "2", f"q{second}": "valve"})
    assert submitted.status_code == 200 and 'data-view="result"' in submitted.text
    assert attempt.answers.get(question_id=second).response == "valve"
