"""Issue 17, part 5, "done when": a student launching with a Spanish locale reads every page of a quiz (start,
attempt, result) and their flashcard progress in Spanish, with dates in their own zone, named.

Quiz and deck content is written in Spanish here (generated content stays in its source's language,
docs/translation.md), so any English left on a page is the interface's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from lms_tool.flashcards.models import CardState, State
from lms_tool.quizzes.models import Accommodation, AnswerRelease, Question, Quiz
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from ..flashcards.conftest import enter
from ..flashcards.factories import CardFactory, DeckFactory
from .test_translation_browser import with_locale

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager")]

# Words and phrases of the English templates (quiz_take, _timing_take, _timezone, attempt, _attempt_pager,
# result, _correct_answer, progress, _nav): none may be left on a Spanish page.
ENGLISH = re.compile(
    r"\b(Questions?|Time limit|Attempts?|Unlimited|Start|Resume|Times are shown|time zone|Opens|Due|Closes|"
    r"Late submissions|allowance|minutes?|Answers are saved|Time left|this attempt ends|extensions?|Add|Save|"
    r"Saved|Submit|Submitted|Previous|Next|answered|Score|Correct|Your answer|Feedback|Back to the quiz|"
    r"My progress|Remembered|Seen|Due now|Recall today|cards?|Flashcards|Decks|Fading first|if you do not review|"
    r"days?|in progress|review|result|the|of|your|you)\b"
)
ZONE = "America/Mexico_City"


def spanish_only(page: Page, what: str) -> str:
    text = page.locator("body").inner_text()
    assert page.locator("html").get_attribute("lang") == "es", what
    assert not ENGLISH.findall(text), f"English left on {what}: {sorted(set(ENGLISH.findall(text)))}\n{text}"
    return text


def test_a_spanish_launch_takes_a_quiz_and_reads_its_progress_in_spanish_in_its_zone(
    platform_server, canvas, course, student, tool_url, page
):
    spec = LaunchSpec(student, course, custom={"person_timezone": ZONE}, claims_hook=with_locale("es-MX"))
    ana = enter(canvas, spec, tool_url)
    quiz = Quiz.objects.create(
        context=ana.context,
        title="Repaso de células",
        status=Quiz.Status.PUBLISHED,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        time_limit_minutes=10,
        max_attempts=2,
        due_at=datetime(2030, 6, 1, 12, 0, tzinfo=UTC),
        timer_extension_minutes=5,
        one_per_page=True,
        show_answers=AnswerRelease.AFTER_SUBMIT,
    )
    Question.objects.create(
        quiz=quiz, position=1, type="single", prompt="¿Dónde se produce el ATP?", options=["Mitocondria", "Núcleo"],
        correct=[0], status=Question.Status.APPROVED, explanation="La mitocondria produce ATP.",
    )  # fmt: skip
    Question.objects.create(
        quiz=quiz, position=2, type="numeric", prompt="¿Cuántas membranas tiene la mitocondria?",
        numeric_answer=2, status=Question.Status.APPROVED,
    )  # fmt: skip
    Accommodation.objects.create(context=ana.context, user=ana.user, time_factor=1.5)

    page.goto(ana.url(f"/quizzes/{quiz.pk}/take/"))
    text = spanish_only(page, "the quiz's start page")
    # 12:00 UTC is 06:00 in Mexico City; day and month in Spanish, the zone named.
    assert page.get_by_test_id("due").inner_text() == f"sáb 1 jun 2030, 06:00 ({ZONE})"
    assert "Tu adaptación en este curso: 1,5 × el tiempo límite." in text  # noqa: RUF001
    assert "Tu tiempo límite para este cuestionario es de 15 minutos." in text

    page.get_by_test_id("start").click()
    page.locator('[data-view="attempt"]').wait_for()
    text = spanish_only(page, "the attempt page")
    assert f"la fecha de entrega del cuestionario es el sáb 1 jun 2030, 06:00 ({ZONE})" in text
    assert page.get_by_test_id("extend-left").inner_text() == "Quedan 10 ampliaciones."
    axe_check(page, what="the attempt page in Spanish")
    page.get_by_label("Mitocondria").check()
    page.get_by_test_id("save-status").filter(has_text="Guardado.").wait_for()  # the script speaks Spanish too
    page.get_by_test_id("next").click()
    page.get_by_label("Tu respuesta (un número)").fill("2")
    page.get_by_test_id("submit").click()

    page.locator('[data-view="result"]').wait_for()
    text = spanish_only(page, "the result page")
    assert "Puntuación: 2 / 2" in text and "Respuesta correcta" not in text
    assert text.count("Correcta (1 / 1)") == 2

    deck = DeckFactory(context=ana.context, title="Orgánulos")
    card = CardFactory(deck=deck, front="Mitocondria", back="Produce ATP")
    CardFactory(deck=deck, front="Ribosoma", back="Sintetiza proteínas")
    CardState.objects.create(
        deck=deck, card=card, learner=ana.user, stability=3.0, difficulty=5.0, due=datetime(2030, 1, 1, tzinfo=UTC),
        last_review=datetime.now(UTC), created_at=datetime.now(UTC), reps=1, state=State.REVIEW,
    )  # fmt: skip
    page.goto(ana.url("/flashcards/progress/"))
    text = spanish_only(page, "the flashcard progress page")
    assert "Mi progreso" in text and "de 2 tarjetas" in text and "En 7 días" in text
