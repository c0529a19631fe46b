"""AI under the institution's control, service level: budget, token counting, moderation, provenance, bad input."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from lms_tool.ai import moderation, prompts
from lms_tool.core.models import AuditEvent
from lms_tool.flashcards.models import Card, Deck, DeckGeneration
from lms_tool.flashcards.services import generation_run
from lms_tool.lti import ai_control
from lms_tool.lti.models import Registration, RegistrationAiUsage
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Answer

from ..quizzes.factories import make_course, make_quiz
from .conftest import model_on

pytestmark = pytest.mark.django_db

UNSAFE = "kill yourself"  # a violence phrase of the committed word list (lms_tool/ai/data/unsafe_terms.txt)


def question(prompt: str, explanation: str = "The text says so.") -> dict:
    return {
        "type": "single",
        "question": prompt,
        "options": ["aorta", "vena cava", "capillary"],
        "answer_index": 0,
        "explanation": explanation,
        "source_passage": "The aorta is the largest artery of the body.",
    }


def questions_answer(*items: dict, tokens: int = 2) -> dict:
    return {"content": json.dumps({"questions": list(items)}), "usage": {"total_tokens": tokens}}


def test_the_word_list_sees_through_disguises_and_leaves_classroom_words_alone():
    slur = next(term for category, term in moderation.terms() if category == "slur").strip()
    disguised = slur.replace("i", "1").replace("e", "3").upper()

    assert "slur language" in moderation.word_list_check(f"They called him a {disguised}!")
    assert "violence language" in moderation.word_list_check("Just KILL   y0urself.")
    for fine in (
        "Scunthorpe is a town in Lincolnshire.",
        "The assassin of Caesar was Brutus.",
        "A chink in the armour let the arrow through.",
        "Friction retards the motion of the block.",
        "Antibodies kill bacteria; they do not kill yourselves.",
    ):
        assert moderation.word_list_check(fine) == "", fine


def test_model_tokens_are_counted_from_usage_and_over_budget_generation_goes_offline_with_a_notice(
    settings, chat_server
):
    model_on(settings, chat_server)
    course = make_course()
    Registration.objects.filter(pk=course.registration.pk).update(ai_monthly_token_budget=100)
    chat_server.script = [questions_answer(question("What is the largest artery of the body?"), tokens=120)]

    first = make_quiz(course, count=1, types=["single"], publish=False)
    second = make_quiz(course, count=2, types=["single"], publish=False)

    usage = RegistrationAiUsage.objects.get(registration=course.registration)
    assert (usage.tokens, usage.requests, usage.month) == (120, 1, ai_control.month_start())
    assert len(chat_server.requests) == 1  # the second quiz never reached the model
    written = first.questions.get()
    assert (written.model, written.prompt_version) == ("test-model", prompts.VERSION)
    assert written.ai_provider == f"openai-compatible 127.0.0.1:{chat_server.httpd.server_port}"
    assert first.generation_runs.get().ai_notice == ""
    run = second.generation_runs.get()
    assert "monthly AI budget (100 tokens) is used up until 01 " in run.ai_notice
    assert {(q.model, q.ai_provider, q.prompt_version) for q in second.questions.all()} == {
        ("offline-v1", "offline", "offline rules")
    }


def test_a_registration_with_ai_off_never_reaches_the_model_for_generation_or_grading(settings, chat_server):
    model_on(settings, chat_server)
    course = make_course()
    Registration.objects.filter(pk=course.registration.pk).update(ai_enabled=False)

    quiz = make_quiz(course, count=2, types=["free_text"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    services.attempt_submit(attempt=attempt, responses={qid: "The heart pumps blood." for qid in attempt.question_ids})

    assert chat_server.requests == [] and chat_server.moderation_requests == []
    assert "turned the AI model off" in quiz.generation_runs.get().ai_notice
    answers = list(Answer.objects.filter(attempt=attempt))
    assert answers and {(a.model, a.ai_provider, a.prompt_version) for a in answers} == {
        ("offline-v1", "offline", "offline rules")
    }
    assert not RegistrationAiUsage.objects.exists()


def test_an_unsafe_generated_question_is_held_back_by_the_word_list_with_its_reason(settings, chat_server):
    model_on(settings, chat_server)
    chat_server.script = [
        questions_answer(
            question("What is the largest artery of the body?"),
            question("Which vessel is the largest?", explanation=f"If you get this wrong, {UNSAFE}."),
        )
    ]
    course = make_course()

    quiz = make_quiz(course, count=2, types=["single"], publish=False)

    assert [q.prompt for q in quiz.questions.all()] == ["What is the largest artery of the body?"]
    run = quiz.generation_runs.get()
    assert run.rejected == [
        {
            "reason": "a generated question was held back by moderation: it contains violence language "
            "(the tool's word list)",
            "raw": None,  # the unsafe text itself is not kept
        }
    ]
    # The word list refused it before the provider was asked; the safe one went to the provider's endpoint.
    assert [r["body"]["input"] for r in chat_server.moderation_requests] == [
        ["What is the largest artery of the body?\naorta\nvena cava\ncapillary\nThe text says so."]
    ]


def test_the_providers_moderation_flags_what_the_word_list_misses_and_a_failing_endpoint_refuses(settings, chat_server):
    model_on(settings, chat_server)
    chat_server.moderation = {"forbidden"}
    chat_server.script = [
        questions_answer(question("What is the largest artery of the body?"), question("Which forbidden vessel?")),
        questions_answer(question("What is the largest artery of the body?")),
    ]
    course = make_course()

    flagged = make_quiz(course, count=2, types=["single"], publish=False)
    chat_server.moderation_status = 500
    unchecked = make_quiz(course, count=1, types=["single"], publish=False)

    assert [q.prompt for q in flagged.questions.all()] == ["What is the largest artery of the body?"]
    assert [r["reason"] for r in flagged.generation_runs.get().rejected] == [
        "a generated question was held back by moderation: the provider's moderation flagged it (hate)"
    ]
    assert unchecked.questions.count() == 0  # fail closed: an unchecked item is never offered
    assert (
        unchecked.generation_runs.get()
        .rejected[0]["reason"]
        .endswith("the moderation service refused to check it (HTTP 500); try again later")
    )


def test_a_server_without_a_moderation_endpoint_is_asked_once_then_the_word_list_alone_checks(settings, chat_server):
    model_on(settings, chat_server)
    chat_server.script = [questions_answer(question("What is the largest artery?")) for _ in range(2)]
    course = make_course()

    one = make_quiz(course, count=1, types=["single"], publish=False)
    two = make_quiz(course, count=1, types=["single"], publish=False)

    assert one.questions.count() == two.questions.count() == 1
    assert len(chat_server.moderation_requests) == 1  # the 404 is remembered


def test_unsafe_cards_are_held_back_and_kept_cards_record_their_provenance(settings, chat_server):
    model_on(settings, chat_server)
    cards = [
        {
            "front": "Which is the largest artery of the body?",
            "back": "The aorta",
            "source_passage": "",
            "tags": ["aorta"],
        },
        {"front": "Smallest vessel?", "back": f"Capillary. Now {UNSAFE}.", "source_passage": "", "tags": []},
    ]
    chat_server.script = [{"content": json.dumps({"cards": cards}), "usage": {"total_tokens": 40}}]
    course = make_course()
    deck = Deck.objects.create(context=course.context, title="Heart")
    generation = DeckGeneration.objects.create(
        deck=deck, requested_by=course.instructor, text="The aorta is the largest artery of the body.", count=2
    )

    generation = generation_run(generation=generation)

    card = Card.objects.get(deck=deck)
    assert card.front == "Which is the largest artery of the body?"
    assert (card.model, card.prompt_version) == ("test-model", prompts.VERSION)
    assert card.ai_provider.startswith("openai-compatible 127.0.0.1:")
    assert generation.rejected == [
        {
            "reason": "a generated card was held back by moderation: it contains violence language "
            "(the tool's word list)",
            "raw": "None",
        }
    ]
    assert ai_control.usage_tokens(course.registration.pk) == 40


def test_unsafe_ai_feedback_is_withheld_and_the_grade_waits_for_a_person(settings, chat_server):
    course = make_course()
    quiz = make_quiz(course, count=1, types=["free_text"])  # written offline, graded by the model
    model_on(settings, chat_server)
    chat_server.script = [
        {"content": json.dumps({"score": 1, "confidence": 0.97, "rationale": f"Correct, but {UNSAFE}."})}
    ]
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)

    services.attempt_submit(attempt=attempt, responses={attempt.question_ids[0]: "The heart pumps blood."})

    answer = Answer.objects.get(attempt=attempt)
    assert (answer.score, answer.confidence, answer.needs_review) == (0.0, 0.0, True)
    assert UNSAFE not in answer.rationale
    assert answer.rationale.startswith("The AI's feedback was withheld: it contains violence language")
    assert (answer.model, answer.prompt_version) == ("test-model", prompts.VERSION)
    assert answer.ai_provider.startswith("openai-compatible 127.0.0.1:")


@pytest.mark.parametrize("budget", ["0", "-5", "lots"])
def test_a_budget_that_is_not_at_least_one_token_is_refused_by_the_command_and_nothing_changes(budget):
    course = make_course()
    Registration.objects.filter(pk=course.registration.pk).update(ai_monthly_token_budget=5000)

    with pytest.raises(CommandError) as refused:
        call_command("ai_control", "set", str(course.registration.pk), "--ai", "off", "--budget", budget)

    assert str(refused.value).startswith("Nothing was changed: ")
    if budget != "lots":
        assert "at least 1 token" in str(refused.value) and "turn the AI provider off" in str(refused.value)
    course.registration.refresh_from_db()
    assert (course.registration.ai_enabled, course.registration.ai_monthly_token_budget) == (True, 5000)
    assert not AuditEvent.objects.filter(action="lti.registration.ai_settings").exists()


def test_the_command_turns_ai_off_and_says_what_leaves_the_tool(settings, capsys):
    settings.AI = {"BASE_URL": "https://models.example.edu/v1", "MODEL": "big-model"}
    course = make_course()

    call_command("ai_control", "show", str(course.registration.pk))
    shown = capsys.readouterr().out
    call_command("ai_control", "set", str(course.registration.pk), "--ai", "off", "--budget", "none")
    after = capsys.readouterr().out

    assert "https://models.example.edu/v1/chat/completions (model big-model)" in shown
    assert "the learner's answer text. No name, e-mail, platform user id" in shown
    assert "https://models.example.edu/v1/moderations" in shown
    assert "AI provider: off" in after and "Nothing is sent to any model or moderation service" in after
    audit = AuditEvent.objects.get(action="lti.registration.ai_settings")
    assert audit.before == {"ai_enabled": True, "ai_monthly_token_budget": None}
    assert audit.after == {"ai_enabled": False, "ai_monthly_token_budget": None} and audit.source == "cli"
