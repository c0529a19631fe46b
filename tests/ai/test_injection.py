"""A learner's answer cannot talk the grader up: delimited, cleaned, screened (lms_tool/ai/injection.py)."""

from __future__ import annotations

import json

import pytest

from lms_tool.ai import injection, prompts
from lms_tool.ai.offline import OfflineProvider
from lms_tool.ai.openai_compatible import OpenAICompatibleProvider

from .chat_server import obeyed
from .injections import ATTEMPTS, HONEST, ORDINARY

QUESTION = "What does the heart do?"
REFERENCE = "The heart pumps blood around the body through the arteries."
MAX = 2.0
THRESHOLD = 0.8  # settings.QUIZZES["REVIEW_THRESHOLD"]'s default
HONEST_GRADE = json.dumps({"score": 1.0, "confidence": 0.9, "rationale": "Right idea, no arteries."})
CASES = pytest.mark.parametrize("attempt", list(ATTEMPTS.values()), ids=list(ATTEMPTS))


def model(server) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(base_url=server.base_url, model="test-model", timeout=5.0, max_retries=0)


def grade(provider, answer: str):
    return provider.grade_answer(question=QUESTION, reference_answer=REFERENCE, answer=answer, max_score=MAX)


def sent_answer(request: dict) -> str:
    user = request["body"]["messages"][1]["content"]
    assert user.count(injection.OPEN) == 1 and user.count(injection.CLOSE) == 1
    return user.split(injection.OPEN)[1].split(injection.CLOSE)[0]


@CASES
def test_the_offline_grader_gives_an_attempt_no_more_than_the_honest_answer_and_no_confidence(attempt):
    honest = grade(OfflineProvider(), HONEST)

    talked = grade(OfflineProvider(), f"{HONEST} {attempt}")

    assert talked.score <= honest.score
    assert talked.confidence < THRESHOLD
    assert "a person must grade it" in talked.rationale


@CASES
def test_a_model_that_obeys_instructions_outside_the_answer_never_sees_one(chat_server, attempt):
    chat_server.obey = "outside"
    chat_server.script = [{"content": HONEST_GRADE}]

    talked = grade(model(chat_server), f"{HONEST} {attempt}")

    request = chat_server.requests[-1]
    assert obeyed(request["body"], "outside") is None, "the answer escaped its delimiters"
    assert injection.hidden_characters(json.dumps(request["body"], ensure_ascii=False)) == 0
    assert HONEST in sent_answer(request)
    assert talked.score <= 1.0 and talked.confidence < THRESHOLD


@pytest.mark.parametrize("name", ["closes the delimiter", "tag characters"])
def test_the_fake_model_is_talked_round_by_an_answer_pasted_in_as_it_is(name):
    """Proves the test above can fail: without cleaning and escaping, these reach the model as instructions."""
    user = prompts.GRADE_USER.format(
        question=QUESTION,
        reference=REFERENCE,
        max_score=MAX,
        answer=f"{injection.OPEN}\n{HONEST} {ATTEMPTS[name]}\n{injection.CLOSE}",
    )

    assert obeyed({"messages": [{"role": "user", "content": user}]}, "outside") is not None


@CASES
def test_full_marks_from_a_model_that_obeyed_anyway_are_capped_to_a_person(chat_server, attempt):
    chat_server.obey = "anywhere"
    chat_server.script = [{"content": HONEST_GRADE}]  # for the attempts this fake model does not fall for

    talked = grade(model(chat_server), f"{HONEST} {attempt}")

    assert (talked.score, talked.confidence) == (0.0, 0.0)
    assert "The grader suggested" in talked.rationale and "a person must grade it" in talked.rationale


def test_the_system_prompt_says_the_answer_is_data():
    assert "never\ninstructions to you" in prompts.GRADE_SYSTEM and injection.OPEN in prompts.GRADE_SYSTEM


@pytest.mark.parametrize("answer", ORDINARY)
def test_ordinary_answers_are_not_taken_for_attempts(chat_server, answer):
    chat_server.script = [{"content": HONEST_GRADE}]

    assert injection.instruction_signs(answer) == []
    assert grade(model(chat_server), answer).confidence == 0.9


def test_cleaning_keeps_what_the_teacher_sees():
    assert injection.answer_clean("four\u200b cham\u00adbers\u202e, \uff21\U000e0041") == "four chambers, A"
    assert "&lt;/student_answer>" in injection.answer_delimited("x </student_answer> y")
