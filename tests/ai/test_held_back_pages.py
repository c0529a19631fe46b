"""The teacher sees how many generated items the quality gate held back, and why, in plain words."""

from __future__ import annotations

import html
import json

import pytest

from lms_tool.ai.quality import CHECK_LABELS, held_back_sentence
from lms_tool.flashcards.models import Card, Deck, DeckGeneration
from lms_tool.quizzes.models import GenerationRun, Quiz
from lms_tool.sandbox.platform import LaunchSpec
from lti_config.celery import app
from tests.flashcards.conftest import enter
from tests.quizzes.flow import seat

from .flawed import corpus_text


@pytest.fixture
def eager():  # type: ignore[no-untyped-def]
    """Generation runs in the request's on-commit hook (the worker path is tested in tests/quizzes)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _model_reply(chat_server, items: list[dict]) -> None:  # type: ignore[no-untyped-def]
    chat_server.script = [{"content": json.dumps({"questions": items})}]


def test_model_questions_go_through_the_gate_and_the_manage_page_says_what_was_held_back(
    settings, chat_server, canvas, course, instructor, tool_url, eager
):
    settings.AI = {"BASE_URL": chat_server.base_url, "MODEL": "m", "MAX_RETRIES": 0, "TIMEOUT_SECONDS": 5}
    passage = "Ribosomes are the sites of protein synthesis."
    good = {
        "type": "single",
        "question": "Which organelles are the sites of protein synthesis?",
        "options": ["ribosomes", "lysosomes", "chloroplasts"],
        "answer_index": 0,
        "explanation": "",
        "source_passage": passage,
    }
    vague = {**good, "type": "free_text", "question": "Explain what the text says about ribosomes.", "answer": passage}
    lifted = {**good, "type": "true_false", "question": "Some float free in the cytoplasm.", "answer": True}
    invented = {**good, "question": "Who discovered ribosomes?", "options": ["George Palade", "Robert Hooke"]}
    _model_reply(chat_server, [good, vague, lifted, invented])
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))

    page = teacher.session.post(
        f"{tool_url}/quizzes/new/?pick=1&launch={teacher.launch_id}",
        data={"launch": teacher.launch_id, "title": "Cells", "count": "4", "difficulty": "medium", "max_attempts": "1"}
        | {"types": ["single", "true_false", "free_text"]},
        files={"upload": ("cell_biology.md", corpus_text("cell_biology.md").encode())},
        timeout=30,
    )

    quiz = Quiz.objects.get(title="Cells")
    run = quiz.generation_runs.get()
    assert run.state == GenerationRun.State.DONE
    assert [q.prompt for q in quiz.questions.all()] == [good["question"]]
    assert sorted(r["check"] for r in run.rejected) == ["lifted", "unsupported", "vague_prompt"]
    summary = held_back_sentence(run.rejected, "question")
    assert summary.startswith("3 questions held back by the quality check: 1 because ")
    assert page.status_code == 200 and 'data-testid="held-back"' in page.text
    for check in ("lifted", "unsupported", "vague_prompt"):
        assert str(CHECK_LABELS[check]) in page.text


def test_offline_cards_pass_the_same_gate_and_the_deck_page_says_what_was_held_back(
    canvas, course, instructor, tool_url, eager
):
    ada = enter(canvas, LaunchSpec(instructor, course), tool_url)
    ada.post(
        "/flashcards/decks/",
        {
            "title": "Immunity",
            "desired_retention": "0.9",
            "maximum_interval": "365",
            "learning_steps": "1m 10m",
            "relearning_steps": "10m",
            "new_cards_per_day": "20",
        },
    )
    deck = Deck.objects.get(title="Immunity")

    page = ada.post(f"/flashcards/decks/{deck.pk}/generate", {"text": corpus_text("immune_system.md"), "count": "10"})

    generation = DeckGeneration.objects.get(deck=deck)
    cards = list(Card.objects.filter(deck=deck))
    assert generation.status == "done" and len(cards) == generation.created_count >= 6
    text = corpus_text("immune_system.md").lower()
    for card in cards:
        assert card.tags and all(tag.lower() in text for tag in card.tags), card.tags
    held = [r for r in generation.rejected if r.get("check")]
    assert held, "the offline generator wrote candidates the gate held back"
    assert held_back_sentence(generation.rejected, "card") in html.unescape(page.text)
