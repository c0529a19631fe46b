"""Issue 17, part 5, step 3: an instructor launching with a Spanish locale gets the course home, the quiz's
management, dates and accommodations pages, the review queue and the roster in Spanish (generated questions stay in their source's language)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lms_tool.quizzes import services
from lms_tool.sandbox.platform import LaunchSpec

from ..flashcards.conftest import enter
from ..quizzes.factories import course_text
from .test_translation_browser import with_locale

pytestmark = pytest.mark.django_db(transaction=True)

# Sentences of those templates in English: none may be left.
ENGLISH = (
    "course home", "Everything this tool holds", "None yet.", "Dates and time", "No due date", "Learners may add",
    "Change dates and late policy", "Accommodations (extra time", "Integrity", "Each learner keeps",
    "Done: ", "Write a question", "Approve all", "Keep published", "Save settings", "Regenerate", "Delete",
    "Answers awaiting your review", "Nothing is waiting for review.", "Times are shown", "Type times in", "Save dates",
    "Late penalty", "Extra time and extra attempts", "Time factor", "Extra minutes", "Learners and their allowances",
    "Sync with the platform", "Last launch", "No members yet.", "Roster of",
)  # fmt: skip


def test_an_instructor_with_a_spanish_locale_manages_a_quiz_in_spanish(
    platform_server, canvas, course, instructor, tool_url
):
    spec = LaunchSpec(instructor, course, custom={"person_timezone": "Europe/Madrid"}, claims_hook=with_locale("es"))
    ada = enter(canvas, spec, tool_url)
    quiz, run = services.quiz_create(
        context=ada.context, user=ada.user, title="Corazón", text=course_text(), count=2, types=["single"]
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=quiz, user=ada.user)
    quiz.refresh_from_db()
    quiz.due_at, quiz.timer_extension_minutes = datetime(2030, 1, 15, 9, 30, tzinfo=UTC), 5
    quiz.save()

    pages = {
        "course home": ada.get("/lti/course/"),
        "quiz management": ada.get(f"/quizzes/{quiz.pk}/manage/"),
        "review queue": ada.get("/quizzes/review/"),
        "quiz dates": ada.get(f"/quizzes/{quiz.pk}/dates/"),
        "accommodations": ada.get("/quizzes/accommodations/"),
        "roster": ada.get("/roster/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text[:300])
        assert '<html lang="es"' in response.text, name
        left = [s for s in ENGLISH if s in response.text]
        assert not left, f"English left on {name}: {left}"

    manage = pages["quiz management"].text
    assert "Fechas y horas" in manage and "Listo: 2 preguntas escritas." in manage
    assert "mar 15 ene 2030, 10:30 (Europe/Madrid)" in manage  # a Tuesday; 09:30 UTC in Madrid's winter time
    assert (
        "Mezclar las preguntas para cada estudiante" in manage
        and "Este cuestionario tiene 2 preguntas aprobadas." in manage
    )
    assert "Los estudiantes pueden añadir 5 minutos a su temporizador, hasta 10 veces." in manage
    assert "No hay nada pendiente de revisión." in pages["review queue"].text
    assert "Aquí aparece todo lo que esta herramienta guarda para el curso" in pages["course home"].text
    assert "Escribe las horas en Europe/Madrid." in pages["quiz dates"].text
    assert 'data-view="accommodations">Adaptaciones</h1>' in pages["accommodations"].text
    assert "Sincronización con la plataforma" in pages["roster"].text and "Último acceso" in pages["roster"].text
