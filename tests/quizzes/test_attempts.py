"""Attempts: start, autosave, resume, submit once; exact grading; AI grades flagged; the outbox row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from lms_tool.core.models import DomainEvent
from lms_tool.grading.models import PassbackState, ReviewState, Score
from lms_tool.quizzes import services
from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.models import Answer, Attempt, Question
from lms_tool.quizzes.services import attempts
from lms_tool.quizzes.services.attempts import AttemptSubmitted
from lms_tool.quizzes.services.grading import grade_objective

from ..locks import a_session_waits_for_a_lock
from .factories import make_course, make_quiz

pytestmark = pytest.mark.django_db


def right_answer(question: Question):  # type: ignore[no-untyped-def]
    if question.is_choice:
        return question.correct
    if question.type == Question.Type.NUMERIC:
        return question.numeric_answer
    return question.answers[0]


def test_a_student_starts_answers_and_resumes_the_same_attempt():
    course = make_course()
    quiz = make_quiz(course)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    first = Question.objects.get(pk=attempt.question_ids[0])

    services.answer_save(attempt=attempt, question_id=first.pk, response=right_answer(first))
    resumed = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)

    assert resumed.pk == attempt.pk
    assert Answer.objects.get(attempt=attempt, question=first).response is not None


def test_an_unpublished_quiz_cannot_be_started():
    course = make_course()
    quiz = make_quiz(course, publish=False)

    with pytest.raises(QuizError, match="not published"):
        services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)


def test_all_right_answers_get_full_marks_and_one_outbox_score():
    course = make_course()
    quiz = make_quiz(course, count=6, types=["single", "multiple", "true_false", "numeric", "short"], text=None)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = Question.objects.in_bulk(attempt.question_ids)

    submitted = services.attempt_submit(attempt=attempt, responses={q.pk: right_answer(q) for q in questions.values()})

    assert submitted.state == Attempt.State.SUBMITTED and not submitted.needs_review
    assert submitted.score == submitted.score_maximum == len(questions)
    score = Score.objects.get(pk=submitted.score_ref)
    assert (score.score_given, score.score_maximum, score.source) == (len(questions), len(questions), "automatic")
    assert score.grading_progress == "FullyGraded" and score.passback_state == PassbackState.PENDING
    assert score.line_item.label == quiz.title and score.line_item.resource_id == f"quiz:{quiz.pk}"


def test_submitting_twice_is_harmless():
    course = make_course()
    quiz = make_quiz(course)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)

    first = services.attempt_submit(attempt=attempt, responses={})
    second = services.attempt_submit(attempt=attempt, responses={attempt.question_ids[0]: "0"})

    assert first.pk == second.pk and second.score == first.score
    assert Score.objects.filter(user=course.student).count() == 1
    assert Attempt.objects.filter(user=course.student).count() == 1
    submitted = DomainEvent.objects.get(type="attempt.submitted")  # one event, for webhooks and the API
    assert submitted.subject_id == str(first.pk) and submitted.data["score"] == first.score


def test_answers_cannot_change_after_submission():
    course = make_course()
    quiz = make_quiz(course)
    attempt = services.attempt_submit(
        attempt=services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    )

    with pytest.raises(QuizError, match="has been submitted") as caught:
        services.answer_save(attempt=attempt, question_id=attempt.question_ids[0], response=0)
    assert caught.value.status == 409


def test_an_answer_from_a_page_opened_before_the_submit_is_refused_and_changes_nothing():
    course = make_course()
    quiz = make_quiz(course, count=2, types=["single"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    other_tab = Attempt.objects.get(pk=attempt.pk)  # read while the attempt was open
    first, second = attempt.question_ids
    services.answer_save(attempt=attempt, question_id=first, response=0)
    services.attempt_submit(attempt=attempt)

    for question_id in (first, second):
        with pytest.raises(QuizError, match="has been submitted") as caught:
            services.answer_save(attempt=other_tab, question_id=question_id, response=1)
        assert caught.value.status == 409
    with pytest.raises(QuizError, match="has been submitted"):  # "Save" without scripts, nothing filled in
        attempts.answers_save(attempt=other_tab, responses={})
    saved = dict(Answer.objects.filter(attempt=attempt).values_list("question_id", "response"))
    assert saved == {first: [0], second: None}


def test_an_answer_from_a_page_that_missed_the_end_of_its_time_is_refused_and_changes_nothing():
    course = make_course()
    quiz = make_quiz(course, time_limit_minutes=10, count=2, types=["single"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    first, second = attempt.question_ids
    services.answer_save(attempt=attempt, question_id=first, response=0)
    # Time ran out after the page read the attempt (its deadline moved earlier since: the page still thinks it open).
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(minutes=1))

    with pytest.raises(QuizError, match="time for this attempt is up"):
        services.answer_save(attempt=attempt, question_id=first, response=1)
    with pytest.raises(QuizError, match="time for this attempt is up"):
        services.answer_save(attempt=attempt, question_id=second, response=1)
    saved = dict(Answer.objects.filter(attempt=attempt).values_list("question_id", "response"))
    assert saved == {first: [0]}


@pytest.mark.django_db(transaction=True)
def test_an_autosave_that_meets_a_submit_in_progress_waits_for_it_and_then_writes_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite lets one writer in at a time by itself")
    course = make_course()
    quiz = make_quiz(course, count=2, types=["single"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    first = attempt.question_ids[0]
    outcome: list[BaseException | None] = []

    def autosave() -> None:
        try:
            services.answer_save(attempt=attempt, question_id=first, response=0)
            outcome.append(None)
        except QuizError as error:
            outcome.append(error)
        finally:
            connections.close_all()

    saving = threading.Thread(target=autosave)
    with transaction.atomic():
        Attempt.objects.select_for_update().get(pk=attempt.pk)  # as a submit holds it while it grades
        saving.start()
        assert a_session_waits_for_a_lock(), "the autosave waits for the submit"
        Attempt.objects.filter(pk=attempt.pk).update(state=Attempt.State.SUBMITTED, submitted_at=timezone.now())
    saving.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], AttemptSubmitted)
    assert not Answer.objects.filter(attempt=attempt).exists()


def test_the_attempt_limit_is_enforced_with_a_message():
    course = make_course()
    quiz = make_quiz(course, max_attempts=2)
    for _ in range(2):
        attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
        services.attempt_submit(attempt=attempt)

    with pytest.raises(QuizError, match="used all 2 attempt"):
        services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)


def test_the_time_limit_refuses_late_answers_and_the_sweep_submits_what_was_saved():
    course = make_course()
    quiz = make_quiz(course, time_limit_minutes=10)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    question = Question.objects.get(pk=attempt.question_ids[0])
    services.answer_save(attempt=attempt, question_id=question.pk, response=right_answer(question))
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(minutes=5))
    attempt.refresh_from_db()

    with pytest.raises(QuizError, match="time for this attempt is up"):
        services.answer_save(attempt=attempt, question_id=attempt.question_ids[1], response="x")
    assert services.attempts_close_expired() == 1

    attempt.refresh_from_db()
    assert attempt.state == Attempt.State.SUBMITTED and attempt.score == question.points


def test_answers_sent_with_a_submit_after_the_time_limit_are_dropped_and_those_saved_in_time_count():
    course = make_course()
    quiz = make_quiz(course, time_limit_minutes=10, count=3, types=["single"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = [Question.objects.get(pk=qid) for qid in attempt.question_ids]
    services.answer_save(attempt=attempt, question_id=questions[0].pk, response=right_answer(questions[0]))
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(minutes=5))
    attempt.refresh_from_db()

    # The whole form arrives late, every answer right: only the one saved in time is graded as given.
    submitted = services.attempt_submit(attempt=attempt, responses={q.pk: right_answer(q) for q in questions})

    assert submitted.state == Attempt.State.SUBMITTED and submitted.score == questions[0].points
    saved = dict(Answer.objects.filter(attempt=attempt).values_list("question_id", "response"))
    assert saved == {questions[0].pk: right_answer(questions[0]), questions[1].pk: None, questions[2].pk: None}


def test_a_whole_form_submitted_in_time_is_saved_and_graded_in_the_same_submit():
    course = make_course()
    quiz = make_quiz(course, count=3, types=["single"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = [Question.objects.get(pk=qid) for qid in attempt.question_ids]
    wrong = next(i for i in range(len(questions[1].options)) if [i] != right_answer(questions[1]))

    submitted = services.attempt_submit(
        attempt=attempt,
        responses={questions[0].pk: right_answer(questions[0]), questions[1].pk: [wrong], questions[2].pk: ""},
    )

    assert submitted.score == questions[0].points and submitted.score_maximum == sum(q.points for q in questions)
    graded = {a.question_id: (a.response, a.score) for a in Answer.objects.filter(attempt=attempt)}
    assert graded == {
        questions[0].pk: (right_answer(questions[0]), questions[0].points),
        questions[1].pk: ([wrong], 0.0),
        questions[2].pk: (None, 0.0),
    }


def test_a_whole_form_replaces_the_autosaved_answers_and_a_partial_one_is_graded_with_them():
    course = make_course()
    quiz = make_quiz(course, count=3, types=["single"], max_attempts=2)
    for whole in (True, False):
        attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
        questions = [Question.objects.get(pk=qid) for qid in attempt.question_ids]
        wrong = [next(i for i in range(len(q.options)) if [i] != right_answer(q)) for q in questions]
        services.answer_save(attempt=attempt, question_id=questions[0].pk, response=wrong[0])
        services.answer_save(attempt=attempt, question_id=questions[1].pk, response=right_answer(questions[1]))
        # The whole form changes both saved answers; the partial one sends only the last question.
        sent = (
            [right_answer(questions[0]), [wrong[1]], right_answer(questions[2])] if whole else [None, None, [wrong[2]]]
        )

        submitted = services.attempt_submit(
            attempt=attempt, responses={q.pk: r for q, r in zip(questions, sent, strict=True) if r is not None}
        )

        rows = list(Answer.objects.filter(attempt=attempt))
        assert len(rows) == len(questions) and all(a.graded_by == Answer.GradedBy.EXACT for a in rows)
        assert all(a.max_score == q.points for a in rows for q in questions if q.pk == a.question_id)
        right = [questions[0], questions[2]] if whole else [questions[1]]
        assert submitted.score == sum(q.points for q in right)
        assert {a.question_id for a in rows if a.score} == {q.pk for q in right}
        assert Score.objects.get(pk=submitted.score_ref).score_given == submitted.score


@pytest.mark.parametrize(
    ("response", "message"),
    [([7], "Choose one of the options"), (["x"], "Choose one of the options"), ([0, 1], "only one option")],
)
def test_bad_choice_answers_are_refused(response, message):
    course = make_course()
    quiz = make_quiz(course, types=["single"], count=1)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)

    with pytest.raises(QuizError, match=message):
        services.answer_save(attempt=attempt, question_id=attempt.question_ids[0], response=response)


def test_an_answer_to_a_question_outside_the_attempt_is_refused():
    course = make_course()
    quiz = make_quiz(course)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)

    with pytest.raises(QuizError, match="not part of this attempt"):
        services.answer_save(attempt=attempt, question_id=999_999, response=0)


class TestExactGrading:
    def q(self, **fields) -> Question:  # type: ignore[no-untyped-def]
        return Question(points=2, **fields)

    def test_single_choice(self):
        q = self.q(type="single", options=["a", "b", "c"], correct=[1])
        assert grade_objective(q, [1]) == 2 and grade_objective(q, [0]) == 0 and grade_objective(q, None) == 0

    def test_multiple_choice_is_all_or_nothing(self):
        q = self.q(type="multiple", options=["a", "b", "c", "d"], correct=[0, 2])
        assert grade_objective(q, [2, 0]) == 2 and grade_objective(q, [0]) == 0 and grade_objective(q, [0, 1, 2]) == 0

    def test_numeric_within_tolerance(self):
        q = self.q(type="numeric", numeric_answer=5.0, tolerance=0.5)
        assert grade_objective(q, 5.4) == 2 and grade_objective(q, 4.5) == 2 and grade_objective(q, 5.6) == 0

    def test_numeric_without_tolerance_takes_float_noise(self):
        q = self.q(type="numeric", numeric_answer=0.3, tolerance=0)
        assert grade_objective(q, 0.1 + 0.2) == 2

    def test_short_answer_ignores_case_punctuation_and_articles(self):
        q = self.q(type="short", answers=["the sinoatrial node"])
        assert grade_objective(q, "  Sinoatrial Node. ") == 2 and grade_objective(q, "atrioventricular node") == 0


def _free_text_attempt(course, answer_text):  # type: ignore[no-untyped-def]
    quiz = make_quiz(course, count=2, types=["true_false", "free_text"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = Question.objects.in_bulk(attempt.question_ids)
    responses = {q.pk: (answer_text(q) if q.type == "free_text" else right_answer(q)) for q in questions.values()}
    return services.attempt_submit(attempt=attempt, responses=responses)


def test_an_unsure_ai_grade_is_flagged_and_the_score_waits_for_review():
    course = make_course()

    attempt = _free_text_attempt(course, lambda q: "Something about the heart and its rhythm.")

    assert attempt.needs_review
    flagged = Answer.objects.get(attempt=attempt, question__type="free_text")
    assert flagged.needs_review and flagged.graded_by == "ai" and flagged.confidence < 0.8
    assert flagged.rationale and flagged.model == "offline-v1"
    score = Score.objects.get(pk=attempt.score_ref)
    assert score.source == "ai" and score.review_state == ReviewState.NEEDS_REVIEW
    assert score.grading_progress == "PendingManual" and score.confidence == flagged.confidence


def test_moodle_holds_a_flagged_score_instead_of_posting_it():
    course = make_course(family="moodle")

    attempt = _free_text_attempt(course, lambda q: "Something vague.")

    assert Score.objects.get(pk=attempt.score_ref).passback_state == PassbackState.HELD


def test_a_confident_ai_grade_goes_straight_through():
    course = make_course()

    attempt = _free_text_attempt(course, lambda q: q.answers[0])

    assert not attempt.needs_review and attempt.score == attempt.score_maximum
    score = Score.objects.get(pk=attempt.score_ref)
    assert score.source == "ai" and score.review_state == ReviewState.NOT_NEEDED


def test_the_review_decision_sets_the_grade_and_reaches_the_outbox():
    course = make_course()
    attempt = _free_text_attempt(course, lambda q: "Something about the heart.")
    flagged = Answer.objects.get(attempt=attempt, question__type="free_text")

    services.answer_review_decide(answer=flagged, reviewer=course.instructor, score=1, feedback="Good start.")

    attempt.refresh_from_db()
    flagged.refresh_from_db()
    assert not attempt.needs_review and attempt.score == attempt.score_maximum
    assert flagged.feedback == "Good start." and flagged.reviewer == course.instructor
    score = Score.objects.get(pk=attempt.score_ref)
    assert score.review_state in (ReviewState.CONFIRMED, ReviewState.OVERRIDDEN)
    assert score.score_given == attempt.score and score.grading_progress == "FullyGraded"
    assert score.reviewed_by == course.instructor


@pytest.mark.parametrize("bad", [-1, 5, float("nan")])
def test_a_review_score_out_of_range_is_refused(bad):
    course = make_course()
    attempt = _free_text_attempt(course, lambda q: "vague")
    flagged = Answer.objects.get(attempt=attempt, question__type="free_text")

    with pytest.raises(QuizError, match="between 0 and 1"):
        services.answer_review_decide(answer=flagged, reviewer=course.instructor, score=bad)


def test_a_failing_gradebook_write_leaves_the_attempt_open():
    course = make_course()
    other = make_course(suffix="-other")
    quiz = make_quiz(course)
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=other.link)

    with pytest.raises(Exception, match="different platforms"):
        services.attempt_submit(attempt=attempt)

    attempt.refresh_from_db()
    assert attempt.is_open and attempt.score is None
    assert not Answer.objects.filter(attempt=attempt, score__isnull=False).exists()


def test_a_staff_preview_is_graded_but_never_sent_to_the_gradebook():
    course = make_course()
    quiz = make_quiz(course)
    attempt = services.attempt_start(quiz=quiz, user=course.instructor, resource_link=course.link, preview=True)

    submitted = services.attempt_submit(attempt=attempt)

    assert submitted.is_preview and submitted.score_ref is None and not Score.objects.exists()
