"""The beat's sweepers catch what a lost task left behind: AI generations stuck past the limit are
marked failed with a reason the instructor can act on; recent ones are left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.flashcards.models import Deck, DeckGeneration
from lms_tool.flashcards.tasks import generations_fail_stuck_task
from lms_tool.quizzes.models import GenerationRun
from lms_tool.quizzes.tasks import generation_runs_fail_stuck_task

from ..quizzes.factories import make_course, make_quiz

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _offline(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False
    settings.GENERATION_STUCK_SECONDS = 3600


def test_a_quiz_generation_stuck_running_is_marked_failed_with_a_reason():
    quiz = make_quiz(make_course())
    stuck = GenerationRun.objects.create(quiz=quiz, count=3, types=["single"], state=GenerationRun.State.RUNNING)
    recent = GenerationRun.objects.create(quiz=quiz, count=3, types=["single"], state=GenerationRun.State.RUNNING)
    GenerationRun.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=2))

    assert generation_runs_fail_stuck_task() == 1

    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert stuck.state == GenerationRun.State.FAILED and "did not finish within 60 minutes" in stuck.error
    assert "start it again" in stuck.error and stuck.finished_at is not None
    assert recent.state == GenerationRun.State.RUNNING


def test_a_deck_generation_stuck_pending_is_marked_failed_with_a_reason():
    course = make_course()
    deck = Deck.objects.create(context=course.context, title="Heart")
    stuck = DeckGeneration.objects.create(deck=deck, text="The heart pumps blood.", count=3)
    DeckGeneration.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=2))

    assert generations_fail_stuck_task() == 1

    stuck.refresh_from_db()
    assert stuck.status == DeckGeneration.Status.FAILED and "start it again" in stuck.error


def test_manage_py_queues_prints_each_queue_with_its_oldest_waiting_item():
    from io import StringIO

    from django.core.management import call_command

    quiz = make_quiz(make_course())
    run = GenerationRun.objects.create(quiz=quiz, count=3, types=["single"], state=GenerationRun.State.RUNNING)
    GenerationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    out = StringIO()

    call_command("queues", stdout=out)

    line = next(line for line in out.getvalue().splitlines() if line.startswith("quiz generations unfinished"))
    assert line.split()[3] == "1" and line.split()[4].startswith("5m")
    for queue in ("passback", "generation", "webhooks", "housekeeping"):
        assert queue in out.getvalue()
