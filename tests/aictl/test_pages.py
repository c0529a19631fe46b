"""AI under the institution's control through the pages: the admin's switch, two schools, notices, provenance."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest

from lms_tool.ai import prompts
from lms_tool.core.models import AuditEvent
from lms_tool.flashcards.models import Deck
from lms_tool.lti.models import LtiUser, Registration
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Answer, Question, Quiz
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform, registration_of
from ..quizzes.factories import course_text
from ..quizzes.flow import Seat, seat
from .conftest import model_on

pytestmark = pytest.mark.usefixtures("eager")

QUESTION = {
    "type": "single",
    "question": "What is the largest artery of the body?",
    "options": ["aorta", "vena cava", "capillary"],
    "answer_index": 0,
    "explanation": "The text says so.",
    "source_passage": "The aorta is the largest artery of the body.",
}


@pytest.fixture
def schools(tool_url: str) -> Iterator[dict[str, Platform]]:
    """Two schools, each its own platform and registration (same issuer shape, different client ids)."""
    servers = {name: PlatformServer().start() for name in ("off", "on")}
    try:
        yield {name: make_platform(server, tool_url, client_id=f"school-{name}") for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


def teacher_of(platform: Platform) -> Seat:
    course = platform.add_course("course-101", title="Biology 101")
    person = Person("instructor-1", "Ada Instructor", "ada@example.edu", [ROLE + "Instructor"], "Ada", "Instructor")
    platform.enrol(course, person)
    return seat(platform, LaunchSpec(person, course))


def admin_post(admin_client, registration: Registration, **fields: str):  # type: ignore[no-untyped-def]
    """The registration's admin form as the admin submits it (a box left unticked is not sent)."""
    form = {
        "name": "",
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "auth_login_url": registration.auth_login_url,
        "auth_token_url": registration.auth_token_url,
        "key_set_url": registration.key_set_url,
        "auth_audience": "",
        "family": registration.family,
        "deployment_policy": registration.deployment_policy,
        "is_active": "on",
        "ai_enabled": "on",
        "ai_monthly_token_budget": "",
        "scopes": "[]",
        "frame_origins": "[]",
        "deployments-TOTAL_FORMS": "0",
        "deployments-INITIAL_FORMS": "0",
        "deployments-MIN_NUM_FORMS": "0",
        "deployments-MAX_NUM_FORMS": "1000",
        **fields,
    }
    form = {k: v for k, v in form.items() if v is not None}
    return admin_client.post(f"/admin/lti/registration/{registration.pk}/change/", form)


def create_quiz(tool_url: str, teacher: Seat, title: str) -> str:
    response = teacher.session.post(
        f"{tool_url}/quizzes/new/?launch={teacher.launch_id}",
        data={
            "launch": teacher.launch_id,
            "title": title,
            "text": course_text("heart.md"),
            "count": "1",
            "types": ["single"],
            "difficulty": "medium",
            "max_attempts": "1",
        },
        timeout=30,
    )
    assert response.status_code == 200 and 'data-view="quiz-manage"' in response.text, response.text[:500]
    return html.unescape(response.text)


def test_an_admin_turns_ai_off_for_one_school_whose_instructors_still_generate_offline_while_the_other_uses_the_model(
    settings, chat_server, schools, admin_client, tool_url
):
    model_on(settings, chat_server)
    off, on = registration_of(schools["off"]), registration_of(schools["on"])

    adding = admin_client.get("/admin/lti/registration/add/")
    shown = admin_client.get(f"/admin/lti/registration/{off.pk}/change/").content.decode()
    switched = admin_post(admin_client, off, ai_enabled=None)  # the admin unticks "AI provider on"
    refused = admin_post(admin_client, on, ai_monthly_token_budget="0")

    assert adding.status_code == 200 and "What leaves the tool (AI)" in adding.content.decode()
    assert "What leaves the tool (AI)" in shown
    assert f"{chat_server.base_url}/chat/completions (model test-model)" in html.unescape(shown)
    assert "the learner&#x27;s answer text" in shown or "the learner's answer text" in shown
    assert switched.status_code == 302
    assert refused.status_code == 200 and "A monthly token budget must be at least 1 token" in html.unescape(
        refused.content.decode()
    )
    off.refresh_from_db(), on.refresh_from_db()
    assert (off.ai_enabled, on.ai_enabled, on.ai_monthly_token_budget) == (False, True, None)
    assert AuditEvent.objects.filter(action="lti.registration.ai_settings", object_id=str(off.pk)).count() == 1
    after = admin_client.get(f"/admin/lti/registration/{off.pk}/change/").content.decode()
    assert "The AI provider is OFF for this registration" in after

    offline_teacher, model_teacher = teacher_of(schools["off"]), teacher_of(schools["on"])
    asking = offline_teacher.session.get(f"{tool_url}/quizzes/new/", params={"launch": offline_teacher.launch_id})
    assert 'data-testid="ai-notice"' in asking.text and "turned the AI model off" in html.unescape(asking.text)
    assert (
        'data-testid="ai-notice"'
        not in model_teacher.session.get(f"{tool_url}/quizzes/new/", params={"launch": model_teacher.launch_id}).text
    )
    deck = Deck.objects.create(context=offline_teacher.context, title="Heart")
    deck_page = offline_teacher.session.get(
        f"{tool_url}/flashcards/decks/{deck.pk}/", params={"launch": offline_teacher.launch_id}
    )
    assert 'data-testid="ai-notice"' in deck_page.text  # where cards are generated, too
    chat_server.script = [{"content": json.dumps({"questions": [QUESTION]}), "usage": {"total_tokens": 321}}]

    offline_page = create_quiz(tool_url, offline_teacher, "Offline heart")
    model_page = create_quiz(tool_url, model_teacher, "Model heart")

    assert "Done: 1 question written" in offline_page and "turned the AI model off" in offline_page
    assert "Done: 1 question written" in model_page and 'data-testid="ai-notice"' not in model_page
    assert len(chat_server.requests) == 1  # the model school's request only
    offline_q = Question.objects.get(quiz__title="Offline heart")
    model_q = Question.objects.get(quiz__title="Model heart")
    assert (offline_q.model, offline_q.ai_provider) == ("offline-v1", "offline")
    assert (model_q.model, model_q.prompt_version) == ("test-model", prompts.VERSION)
    assert on.ai_usage.get().tokens == 321 and not off.ai_usage.exists()

    edit = html.unescape(
        model_teacher.session.get(
            f"{tool_url}/quizzes/{model_q.quiz_id}/questions/{model_q.pk}/edit/",
            params={"launch": model_teacher.launch_id},
        ).text
    )
    assert (
        f"Written by AI model test-model · provider openai-compatible 127.0.0.1:{chat_server.httpd.server_port} "
        f"· prompt version {prompts.VERSION}" in " ".join(edit.replace("<strong>", "").replace("</strong>", "").split())
    )


def test_the_review_queue_shows_who_graded_and_an_instructor_learns_the_budget_is_used_up(
    settings, chat_server, canvas, tool_url
):
    model_on(settings, chat_server)
    teacher = teacher_of(canvas)
    registration = registration_of(canvas)
    chat_server.script = [
        {
            "content": json.dumps(
                {
                    "questions": [
                        {
                            "type": "free_text",
                            "question": "Why does the heart have valves?",
                            "answer": "Four valves keep blood flowing in one direction.",
                            "explanation": "",
                            "source_passage": "Four valves keep blood flowing in one direction.",
                        }
                    ]
                }
            ),
            "usage": {"total_tokens": 500},
        },
        {
            "content": json.dumps({"score": 0.5, "confidence": 0.4, "rationale": "Partly right."}),
            "usage": {"total_tokens": 80},
        },
    ]
    quiz, run = services.quiz_create(
        context=teacher.context,
        user=teacher.instructor,
        title="Valves",
        text=course_text(),
        count=1,
        types=["free_text"],
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=quiz, user=teacher.instructor)
    services.quiz_publish(quiz=quiz, user=teacher.instructor)
    student = LtiUser.objects.create(registration=registration, sub="student-9", name="Sam")
    attempt = services.attempt_start(quiz=Quiz.objects.get(pk=quiz.pk), user=student, resource_link=None)
    services.attempt_submit(attempt=attempt, responses={attempt.question_ids[0]: "So blood goes one way."})
    assert Answer.objects.get(attempt=attempt).needs_review
    Registration.objects.filter(pk=registration.pk).update(ai_monthly_token_budget=500)

    queue = html.unescape(teacher.session.get(f"{tool_url}/quizzes/review/", params={"launch": teacher.launch_id}).text)
    asking = html.unescape(teacher.session.get(f"{tool_url}/quizzes/new/", params={"launch": teacher.launch_id}).text)

    flat = " ".join(queue.replace("<strong>", "").replace("</strong>", "").split())
    assert "Graded by AI model test-model · provider openai-compatible 127.0.0.1:" in flat
    assert f"· prompt version {prompts.VERSION}" in flat
    assert "monthly AI budget (500 tokens) is used up until 01 " in asking and 'data-testid="ai-notice"' in asking
