"""Statements for attempts, AI grades, flashcard reviews and deck progress: recorded with what they record,
sent to a real LRS (Ralph), read back through its xAPI API and valid against xAPI 1.0.3."""

from __future__ import annotations

from typing import Any

import pytest

from lms_tool.core.events import event_record
from lms_tool.flashcards import reviews
from lms_tool.grading.models import Score
from lms_tool.grading.services import score_review_decide
from lms_tool.privacy.pseudonyms import pseudonym
from lms_tool.quizzes import services as quizzes
from lms_tool.quizzes.models import Question
from lms_tool.xapi import delivery, services
from lms_tool.xapi.models import ActorFormat, Statement, StatementState
from lms_tool.xapi.vocabulary import VERBS

from ..flashcards.factories import CardFactory, DeckFactory
from ..quizzes.factories import make_course, make_quiz
from ..quizzes.test_attempts import right_answer
from .conftest import lrs_connect

pytestmark = pytest.mark.django_db
ADL = "http://adlnet.gov/expapi/verbs/"


def sent(ralph, endpoint) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Send the endpoint's outbox, then read its statements back from the LRS, in the order recorded."""
    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None, ralph.log()  # the LRS's own words if it refused
    rows = list(Statement.objects.filter(endpoint=endpoint).order_by("pk"))
    assert rows and {r.state for r in rows} == {StatementState.SENT}, [(r.verb, r.last_error) for r in rows]
    stored = ralph.statements([str(r.statement_id) for r in rows])
    assert len(stored) == len(rows)  # each once
    assert ralph.validate(stored) == {}
    return stored


def verbs(statements: list[dict[str, Any]]) -> list[str]:
    return [s["verb"]["id"].removeprefix(ADL) for s in statements]


def test_a_quiz_attempt_is_attempted_answered_completed_and_passed(ralph):
    course = make_course(suffix="-xapi-1")
    endpoint = lrs_connect(course.registration, ralph.url)
    quiz = make_quiz(course, count=3, types=["single", "multiple", "true_false"])
    attempt = quizzes.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = Question.objects.in_bulk(attempt.question_ids)
    responses = {pk: right_answer(question) for pk, question in questions.items()}

    quizzes.attempt_submit(attempt=attempt, responses=responses)
    stored = sent(ralph, endpoint)

    assert verbs(stored) == ["attempted", "answered", "answered", "answered", "completed", "passed"]
    actor = {"objectType": "Agent", "account": {"homePage": "https://lms-xapi-1.example.edu", "name": "student"}}
    assert all(s["actor"] == actor for s in stored)
    quiz_iri = f"https://tool.example.edu/xapi/activities/quiz/{quiz.pk}"
    attempted, *answered, completed, passed = stored
    assert attempted["object"]["id"] == quiz_iri
    assert attempted["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/assessment"
    # One xAPI registration per attempt ties its statements together.
    registration = attempted["context"]["registration"]
    assert all(s["context"]["registration"] == registration for s in stored)
    course_iri = f"https://tool.example.edu/xapi/activities/course/{course.context.pk}"
    assert all(s["context"]["contextActivities"]["grouping"][0]["id"] == course_iri for s in stored)
    for statement, pk in zip(answered, attempt.question_ids, strict=True):
        assert statement["object"]["id"] == f"https://tool.example.edu/xapi/activities/question/{pk}"
        assert statement["object"]["definition"]["interactionType"] == "choice"
        assert statement["context"]["contextActivities"]["parent"][0]["id"] == quiz_iri
        expected = right_answer(questions[pk])
        expected = expected if isinstance(expected, list) else [expected]
        assert statement["result"]["response"] == "[,]".join(str(i) for i in expected)
        assert statement["result"]["success"] is True and statement["result"]["score"]["scaled"] == 1.0
    assert completed["result"]["completion"] is True and completed["result"]["score"] == {
        "scaled": 1.0,
        "raw": 3.0,
        "min": 0.0,
        "max": 3.0,
    }
    assert completed["result"]["duration"].startswith("PT")
    assert passed["result"] == {"success": True, "completion": True, "score": completed["result"]["score"]}


def test_a_failed_attempt_says_failed_with_its_scaled_score(ralph):
    course = make_course(suffix="-xapi-2")
    endpoint = lrs_connect(course.registration, ralph.url)
    endpoint.mastery_score = 0.8
    endpoint.save()
    quiz = make_quiz(course, count=2, types=["true_false"])
    attempt = quizzes.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    first, second = (Question.objects.get(pk=pk) for pk in attempt.question_ids)
    wrong = [1 - first.correct[0]]

    quizzes.attempt_submit(attempt=attempt, responses={first.pk: wrong, second.pk: right_answer(second)})
    stored = sent(ralph, endpoint)

    assert verbs(stored) == ["attempted", "answered", "answered", "completed", "failed"]
    assert stored[1]["result"]["success"] is False and stored[1]["result"]["score"]["scaled"] == 0.0
    assert stored[-1]["result"]["success"] is False and stored[-1]["result"]["score"]["scaled"] == 0.5


def test_an_ai_grade_held_then_confirmed_is_scored_twice_and_then_passed(ralph):
    course = make_course(suffix="-xapi-3")
    endpoint = lrs_connect(course.registration, ralph.url)
    quiz = make_quiz(course, count=2, types=["true_false", "free_text"])
    attempt = quizzes.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = Question.objects.in_bulk(attempt.question_ids)
    text = "Something about the heart and its rhythm."  # the offline grader is unsure of it
    responses = {q.pk: (text if q.type == "free_text" else right_answer(q)) for q in questions.values()}
    attempt = quizzes.attempt_submit(attempt=attempt, responses=responses)
    assert attempt.needs_review
    score = Score.objects.get(pk=attempt.score_ref)

    held = sent(ralph, endpoint)
    score_review_decide(score=score, reviewer=course.instructor, score_given=2.0)
    after = sent(ralph, endpoint)[len(held) :]

    # Held: completed without a verdict, and the grade scored as held; the free text's answer has no success yet.
    assert sorted(verbs(held)) == sorted(["attempted", "answered", "answered", "completed", "scored"])
    free = next(s for s in held if s["object"].get("definition", {}).get("interactionType") == "long-fill-in")
    assert free["result"] == {"response": text}
    grade_state = "https://tool.example.edu/xapi/extensions/grade-state"
    scored = next(s for s in held if s["verb"]["id"] == VERBS["scored"])
    assert scored["result"]["extensions"] == {grade_state: "held-for-review"}
    assert scored["context"]["registration"] == held[0]["context"]["registration"]  # the attempt's
    # Confirmed by the instructor, who is named as such; then the attempt's verdict.
    assert verbs(after) == ["scored", "passed"]
    assert after[0]["result"]["extensions"] == {grade_state: "confirmed"}
    assert after[0]["result"]["score"]["scaled"] == 1.0
    assert after[0]["context"]["instructor"]["account"]["name"] == "teacher"
    assert after[1]["context"]["registration"] == held[0]["context"]["registration"]


def test_flashcard_reviews_carry_rating_and_interval_and_the_deck_progresses_to_completed(ralph):
    course = make_course(suffix="-xapi-4")
    endpoint = lrs_connect(course.registration, ralph.url)
    deck = DeckFactory(context=course.context, title="Cells")
    cards = [CardFactory(deck=deck, front=f"Card {i}?") for i in range(2)]
    learner = course.student

    for rating in (3, 4):
        shown = reviews.next_card(deck=deck, learner=learner)
        assert shown is not None
        reviews.review_record(deck=deck, learner=learner, token=shown.token, rating=rating, duration_ms=2500)
    stored = sent(ralph, endpoint)

    assert verbs(stored) == ["answered", "progressed", "answered", "progressed", "completed"]
    ext = "https://tool.example.edu/xapi/extensions/"
    first, progressed, second, done_progress, completed = stored
    assert first["object"]["id"] == f"https://tool.example.edu/xapi/activities/card/{cards[0].pk}"
    assert first["object"]["definition"]["interactionType"] == "likert"
    assert first["result"]["response"] == "good" and second["result"]["response"] == "easy"
    assert first["result"]["extensions"][ext + "fsrs-rating"] == 3
    assert first["result"]["extensions"][ext + "fsrs-interval"] == "PT600.00S"  # Good on a new card: the 10 min step
    assert first["result"]["duration"] == "PT2.50S"
    assert first["context"]["contextActivities"]["parent"][0]["id"].endswith(f"/deck/{deck.pk}")
    progress = "https://w3id.org/xapi/cmi5/result/extensions/progress"
    assert progressed["result"]["extensions"] == {progress: 50} and progressed["result"]["score"]["scaled"] == 0.5
    assert done_progress["result"]["extensions"] == {progress: 100}
    assert completed["object"]["id"].endswith(f"/deck/{deck.pk}") and completed["result"]["completion"] is True


def test_a_registration_that_requires_pseudonyms_never_sends_the_sub(ralph):
    course = make_course(suffix="-xapi-5")
    endpoint = lrs_connect(course.registration, ralph.url, actor_format=ActorFormat.PSEUDONYM)
    quiz = make_quiz(course, count=1, types=["true_false"])

    quizzes.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    stored = sent(ralph, endpoint)

    expected = pseudonym(registration_pk=course.registration.pk, sub="student")
    assert stored[0]["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": "https://tool.example.edu", "name": expected},
    }
    assert '"student"' not in str(Statement.objects.get(endpoint=endpoint).body).replace("'", '"')


def test_only_the_registration_with_an_lrs_gets_statements_and_previews_get_none(ralph):
    ours, theirs = make_course(suffix="-xapi-6"), make_course(suffix="-xapi-7")
    endpoint = lrs_connect(ours.registration, ralph.url)
    for course in (ours, theirs):
        quizzes.attempt_start(
            quiz=make_quiz(course, count=1, types=["true_false"]), user=course.student, resource_link=course.link
        )
    quizzes.attempt_start(
        quiz=make_quiz(ours, count=1, types=["true_false"]), user=ours.instructor, resource_link=ours.link, preview=True
    )

    rows = list(Statement.objects.all())
    assert len(rows) == 1 and rows[0].endpoint == endpoint
    assert rows[0].body["actor"]["account"]["name"] == "student"


def test_an_event_recorded_twice_is_one_statement_and_a_failing_builder_never_fails_the_write(ralph, caplog):
    course = make_course(suffix="-xapi-8")
    lrs_connect(course.registration, ralph.url)
    quiz = make_quiz(course, count=1, types=["true_false"])
    attempt = quizzes.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    event = event_record(
        type="attempt.started",
        subject_type="quiz_attempt",
        subject_id=attempt.pk,
        data={},
        context_pk=course.context.pk,
    )
    services.events_record([event])  # the same event again (a redelivery): the uuid5 id is the same row
    assert Statement.objects.filter(verb="attempted").count() == 2  # attempt_start's event and this one, once each

    broken = event_record(
        type="attempt.started",
        subject_type="quiz_attempt",
        subject_id="not-a-number",
        data={},
        context_pk=course.context.pk,
    )
    assert broken.pk is not None and Statement.objects.filter(verb="attempted").count() == 2
    assert "could not record the statements" in caplog.text
