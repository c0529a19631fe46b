"""Script requests of the attempt page after the launch ended, or to a submitted attempt: JSON in words, never HTML."""

from __future__ import annotations

import pytest
import requests
from django.core.cache import cache

from lms_tool.lti import services as lti_services
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz
from lms_tool.sandbox.platform import LaunchSpec

from .factories import course_text
from .flow import Seat, seat

pytestmark = pytest.mark.usefixtures("eager")


def launch_end(launch_id: str) -> None:
    """The launch's idle time is over: its kept entry is gone from the shared cache."""
    cache.delete(lti_services._launch_keys(launch_id)[0])


def published_quiz(teacher: Seat, types: list[str], count: int) -> Quiz:
    quiz, run = services.quiz_create(
        context=teacher.context, user=teacher.instructor, title="Heart", text=course_text(), count=count, types=types
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=quiz, user=teacher.instructor)
    services.quiz_publish(quiz=quiz, user=teacher.instructor)
    return quiz


@pytest.fixture
def attempt_of(canvas, course, instructor, student, tool_url):  # type: ignore[no-untyped-def]
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = published_quiz(teacher, ["single", "numeric", "short"], 3)
    sam = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    started = requests.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": sam.launch_id}, timeout=10)
    assert started.status_code == 200, started.text[:300]
    return sam, Attempt.objects.get(quiz=quiz)


def autosave(tool_url: str, attempt: Attempt, launch_id: str, question: int, response: object) -> requests.Response:
    return requests.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/answer/",
        json={"question": question, "response": response},
        headers={"X-LTI-Launch": launch_id},
        timeout=10,
    )


def test_it_answers_an_autosave_after_the_launch_ended_with_json_launch_expired(attempt_of, tool_url):
    sam, attempt = attempt_of
    launch_end(sam.launch_id)

    saved = autosave(tool_url, attempt, sam.launch_id, attempt.question_ids[0], "0")

    assert saved.status_code == 401 and saved.headers["Content-Type"] == "application/json"
    assert saved.json()["code"] == "launch_expired"
    assert "open the tool again" in saved.json()["message"]
    assert Answer.objects.filter(attempt=attempt).count() == 0


def test_it_answers_a_script_submit_after_the_launch_ended_with_json_and_submits_nothing(attempt_of, tool_url):
    sam, attempt = attempt_of
    launch_end(sam.launch_id)

    submitted = requests.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/",
        data={f"q{attempt.question_ids[0]}": "0"},
        headers={"X-LTI-Launch": sam.launch_id, "Accept": "application/json"},
        timeout=10,
    )

    assert submitted.status_code == 401 and submitted.json()["code"] == "launch_expired"
    attempt.refresh_from_db()
    assert attempt.is_open and Answer.objects.filter(attempt=attempt).count() == 0


def test_it_refuses_an_answer_to_a_submitted_attempt_with_a_code_the_page_can_act_on(attempt_of, tool_url):
    sam, attempt = attempt_of
    services.attempt_submit(attempt=attempt)

    late = autosave(tool_url, attempt, sam.launch_id, attempt.question_ids[0], "1")

    assert late.status_code == 409
    assert late.json() == {
        "code": "attempt_submitted",
        "message": "This attempt has been submitted; answers can no longer change.",
        "error": "This attempt has been submitted; answers can no longer change.",
    }


def test_it_refuses_a_submit_with_a_word_for_a_number_naming_the_question_and_writes_nothing(attempt_of, tool_url):
    sam, attempt = attempt_of
    numeric = Question.objects.get(pk__in=attempt.question_ids, type="numeric")
    number = attempt.question_ids.index(numeric.pk) + 1
    short = Question.objects.get(pk__in=attempt.question_ids, type="short")
    form = {f"q{short.pk}": "kept answer"}

    refused = requests.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/",
        data={**form, f"q{numeric.pk}": "forty-two"},
        headers={"X-LTI-Launch": sam.launch_id},
        timeout=10,
    )

    assert refused.status_code == 400 and refused.json()["message"].startswith(f"Question {number}: ")
    attempt.refresh_from_db()
    assert attempt.is_open and Answer.objects.filter(attempt=attempt).count() == 0


def test_a_script_submit_answers_with_the_result_address_once(attempt_of, tool_url):
    sam, attempt = attempt_of
    headers = {"X-LTI-Launch": sam.launch_id}
    url = f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/"

    first = requests.post(url, data={"timeup": "1"}, headers=headers, timeout=10)
    second = requests.post(url, data={}, headers=headers, timeout=10)

    assert first.status_code == 200 and first.json()["submitted"] is True
    assert f"/quizzes/attempts/{attempt.pk}/result/" in first.json()["result_url"]
    assert second.status_code == 200 and Attempt.objects.filter(pk=attempt.pk, state="submitted").count() == 1
    result = requests.get(tool_url + first.json()["result_url"], timeout=10)
    assert 'data-testid="time-up"' in result.text and "your answers were submitted" in result.text


def test_a_page_opened_after_the_launch_ended_says_so_in_words(attempt_of, tool_url):
    sam, attempt = attempt_of
    launch_end(sam.launch_id)

    page = requests.get(f"{tool_url}/quizzes/attempts/{attempt.pk}/", params={"launch": sam.launch_id}, timeout=10)

    assert page.status_code == 401 and "text/html" in page.headers["Content-Type"]
    assert "open the tool again" in page.text
