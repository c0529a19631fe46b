"""A generation runs once even when its message is delivered again while a worker is writing it
(lms_tool/core/leases.py): the re-delivered task finds the lease held and does nothing."""

from __future__ import annotations

from typing import Any

import pytest

from lms_tool.ai import get_provider
from lms_tool.core.leases import PREFIX, lease_claim, lease_held
from lms_tool.flashcards import services as flashcards
from lms_tool.flashcards.models import Card, Deck, DeckGeneration
from lms_tool.quizzes import services as quizzes
from lms_tool.quizzes.models import GenerationRun, Question

from ..quizzes.factories import course_text, make_course

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _offline(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False


class Redelivering:
    """The offline provider, except that while the first model call is under way the broker hands the same
    message to another worker (here: the same service called again, as that worker's task would)."""

    def __init__(self, redeliver: Any):
        self._provider = get_provider()
        self._redeliver = redeliver
        self.redelivered: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def _once(self) -> None:
        if not self.redelivered:
            self.redelivered.append(None)
            self.redelivered[0] = self._redeliver()

    def generate_questions(self, **kwargs: Any) -> Any:
        self._once()
        return self._provider.generate_questions(**kwargs)

    def generate_cards(self, **kwargs: Any) -> Any:
        self._once()
        return self._provider.generate_cards(**kwargs)


def _quiz_run(count: int = 4) -> GenerationRun:
    course = make_course()
    _quiz, run = quizzes.quiz_create(
        context=course.context, user=course.instructor, title="Heart", text=course_text(), count=count, types=["single"]
    )
    return run


def test_a_quiz_generation_delivered_again_while_it_runs_writes_its_drafts_once(monkeypatch):
    run = _quiz_run()
    provider = Redelivering(lambda: quizzes.generation_execute(run_id=run.pk))
    monkeypatch.setattr("lms_tool.quizzes.services.generation.get_provider", lambda: provider)

    quizzes.generation_execute(run_id=run.pk)

    run.refresh_from_db()
    assert provider.redelivered, "the second delivery ran while the first was writing"
    assert run.state == "done" and run.created_count == Question.objects.filter(generation_run=run).count() == 4
    assert not lease_held(f"quizzes.generation:{run.pk}")  # released at the end


def test_a_quiz_generation_whose_lease_is_held_is_left_to_its_holder():
    run = _quiz_run()
    lease_claim(f"quizzes.generation:{run.pk}", seconds=60)  # a worker on another machine is writing it

    quizzes.generation_execute(run_id=run.pk)

    run.refresh_from_db()
    assert (run.state, run.parts_done, Question.objects.filter(generation_run=run).count()) == ("queued", 0, 0)


def test_an_expired_lease_is_taken_over_without_writing_finished_parts_again(settings):
    run = _quiz_run()
    quizzes.generation_execute(run_id=run.pk)
    written = Question.objects.filter(generation_run=run).count()
    # The first worker died after its last part was committed, before it marked the run done; its lease expired.
    GenerationRun.objects.filter(pk=run.pk).update(state="running", finished_at=None)

    quizzes.generation_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.state == "done"
    assert Question.objects.filter(generation_run=run).count() == written


def test_a_deck_generation_delivered_again_while_it_runs_adds_its_cards_once(monkeypatch):
    deck = Deck.objects.create(context=make_course().context, title="Heart")
    generation = DeckGeneration.objects.create(deck=deck, text=course_text(), count=3)
    provider = Redelivering(
        lambda: flashcards.generation_run(generation=DeckGeneration.objects.get(pk=generation.pk)).status
    )
    monkeypatch.setattr("lms_tool.ai.get_provider", lambda: provider)

    flashcards.generation_run(generation=generation)

    generation.refresh_from_db()
    assert provider.redelivered == ["pending"]  # the second delivery found the lease held and did nothing
    assert generation.status == "done"
    assert Card.objects.filter(deck=deck).count() == generation.created_count >= 1
    assert not lease_held(f"flashcards.generation:{generation.pk}")


def test_the_lease_expires_when_its_holder_is_gone(settings):
    from django.core.cache import cache

    assert lease_claim("anything:1", seconds=60) is not None
    assert lease_claim("anything:1", seconds=60) is None
    cache.delete(PREFIX + "anything:1")  # what the expiry does for a worker that died
    assert lease_claim("anything:1", seconds=60) is not None
