"""A submitted free-text answer written at the grader waits for a person, with no points meanwhile."""

from __future__ import annotations

import pytest

from lms_tool.grading.models import ReviewState, Score
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Answer, Question

from ..ai.injections import ATTEMPTS, HONEST
from .factories import make_course, make_quiz

pytestmark = pytest.mark.django_db
ATTEMPT_NAMES = ["ignore the rubric", "closes the delimiter", "tag characters", "fake rubric"]


def free_text_quiz(course):  # type: ignore[no-untyped-def]
    """Written by the offline provider, before a test switches a model on for grading."""
    return make_quiz(course, count=1, types=["free_text"])


def submit(course, quiz, text: str):  # type: ignore[no-untyped-def]
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    (question,) = Question.objects.filter(pk__in=attempt.question_ids)
    submitted = services.attempt_submit(attempt=attempt, responses={question.pk: text})
    return submitted, Answer.objects.get(attempt=submitted)


def use_model(settings, server, obey: str) -> None:  # type: ignore[no-untyped-def]
    server.obey = obey
    server.script = [{"content": '{"score": 0.5, "confidence": 0.9, "rationale": "Half right."}'}] * 8
    settings.AI = {"BASE_URL": server.base_url, "MODEL": "test-model", "TIMEOUT_SECONDS": 5, "MAX_RETRIES": 0}


@pytest.mark.parametrize("name", ATTEMPT_NAMES)
def test_it_refuses_to_let_an_answer_talk_the_offline_grader_up(name):
    course = make_course()

    attempt, answer = submit(course, free_text_quiz(course), f"{HONEST} {ATTEMPTS[name]}")

    assert answer.needs_review and answer.confidence == 0 and answer.score == 0
    assert attempt.needs_review and attempt.score == 0
    assert Score.objects.get(pk=attempt.score_ref).review_state == ReviewState.NEEDS_REVIEW


@pytest.mark.parametrize("obey", ["outside", "anywhere"])
@pytest.mark.parametrize("name", ATTEMPT_NAMES)
def test_it_refuses_to_let_an_answer_talk_a_model_up(settings, chat_server, obey, name):
    course = make_course()
    quiz = free_text_quiz(course)
    use_model(settings, chat_server, obey)

    attempt, answer = submit(course, quiz, f"{HONEST} {ATTEMPTS[name]}")

    assert answer.needs_review and answer.confidence == 0 and answer.score == 0
    assert "a person must grade it" in answer.rationale and answer.model == "test-model"
    assert Score.objects.get(pk=attempt.score_ref).review_state == ReviewState.NEEDS_REVIEW


def test_an_honest_answer_keeps_the_models_grade(settings, chat_server):
    course = make_course()
    quiz = free_text_quiz(course)
    use_model(settings, chat_server, "outside")

    _, answer = submit(course, quiz, HONEST)

    assert (answer.score, answer.confidence, answer.needs_review) == (0.5, 0.9, False)
