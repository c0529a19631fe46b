"""Issue 17, part 5, step 3: an instructor launching with a Spanish locale gets the course home, the quiz's
management, dates and accommodations pages, the review queue and the roster in Spanish (generated questions stay in their source's language)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from lms_tool.quizzes import services
from lms_tool.sandbox.platform import LaunchSpec

from ..analytics import test_risk
from ..flashcards.conftest import enter
from ..quizzes.factories import course_text
from .test_translation_browser import with_locale

pytestmark = pytest.mark.django_db(transaction=True)

# test_risk's fixture: a course with a learner who stopped coming, one held for review and one doing well.
world = test_risk.world

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


# Sentences of the other instructor pages (new quiz, questions, results, preview, flashcard decks) in English.
MORE_ENGLISH = (
    "New quiz from course material", "Generate questions", "Edit question", "Save and approve", "Back to ",
    "Save question", "A question you write", "Single choice", "Needs review", "Question quality", "Preview as a student",
    "Edit the quiz", "Download as CSV", "How the best scores spread", "No learner has submitted", "Time limit:",
    "Your answer", "Back to the results", "Flashcard decks", "No decks yet", "New deck", "Create deck", "Front",
    "awaiting approval", "Add a card", "Generate cards", "Import and export", "Scheduling and grading", "Gradebook:",
    "Not graded", "Preview as a learner", "Edit card", "Concepts to reinforce", "Lowest predicted recall",
    "Recall now", "Nothing reviewed yet", "Predicted probability", "Draft", "Proposed (needs approval)",
    "Needs attention first", "Activities at a glance", "Quizzes", "Create a new quiz", "Review queue", "Roster",
)  # fmt: skip


def test_an_instructor_with_a_spanish_locale_authors_and_reads_results_in_spanish(
    platform_server, canvas, course, instructor, tool_url
):
    from lms_tool.flashcards.models import Card, Deck

    spec = LaunchSpec(instructor, course, claims_hook=with_locale("es-MX"))
    ada = enter(canvas, spec, tool_url)
    quiz, run = services.quiz_create(
        context=ada.context, user=ada.user, title="Corazón", text=course_text(), count=1, types=["single"]
    )
    services.generation_execute(run_id=run.pk)
    quiz.time_limit_minutes = 20
    quiz.save()
    question = quiz.questions.first()
    assert question is not None
    deck = Deck.objects.create(context=ada.context, title="Células")
    card = Card.objects.create(deck=deck, front="¿Qué es una célula?", back="La unidad de la vida", status="proposed")

    pages = {
        "new quiz": ada.get("/quizzes/new/"),
        "question edit": ada.get(f"/quizzes/{quiz.pk}/questions/{question.pk}/edit/"),
        "question new": ada.get(f"/quizzes/{quiz.pk}/questions/new/"),
        "results": ada.get(f"/analytics/quizzes/{quiz.pk}/results/"),
        "preview": ada.get(f"/analytics/quizzes/{quiz.pk}/preview/"),
        "deck list": ada.get("/flashcards/decks/"),
        "deck detail": ada.get(f"/flashcards/decks/{deck.pk}/"),
        "card edit": ada.get(f"/flashcards/decks/{deck.pk}/cards/{card.pk}/edit"),
        "course retention": ada.get("/flashcards/analytics/"),
        "deck retention": ada.get(f"/flashcards/decks/{deck.pk}/analytics"),
        "course home": ada.get("/lti/course/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text[:300])
        assert '<html lang="es"' in response.text, name
        left = [s for s in MORE_ENGLISH if s in response.text]
        assert not left, f"English left on {name}: {left}"

    assert "Opción única" in pages["question edit"].text  # the question type's label, from the model's choices
    assert "Cuestionario nuevo a partir del material del curso" in pages["new quiz"].text
    assert "Tiempo límite: 20 minutos." in pages["preview"].text
    assert "Ningún estudiante ha entregado un intento todavía." in pages["results"].text
    detail = pages["deck detail"].text
    assert "1 tarjeta propuesta espera tu revisión" in detail and "Propuesta (requiere aprobación)" in detail
    assert "Publicar sin la 1 tarjeta propuesta" in detail and "Sin calificar" in detail
    assert "Aún no hay tarjetas" not in detail and "Borrador" in detail
    home = pages["course home"].text
    assert "Actividades de un vistazo" in home and "Crear un cuestionario nuevo" in home and "Cola de revisión" in home
    assert "Mazos de tarjetas" in home and "Crear un mazo nuevo" in home and "1 pregunta" in home

    # Refusals that were plain English literals (issue 17, part 5, the sweep).
    bad_filter = ada.get(f"/analytics/quizzes/{quiz.pk}/results/", low="half")
    no_card = ada.get(f"/flashcards/decks/{deck.pk}/cards/999999/edit")
    assert bad_filter.status_code == 400
    assert "La puntuación más baja debe ser un porcentaje entre 0 y 100, como 50." in bad_filter.text
    assert no_card.status_code == 404 and "No existe esa tarjeta en este mazo." in no_card.text


# Sentences of the analytics pages (question quality, learners who need help, a learner, retention) in English.
ANALYTICS_ENGLISH = (
    "question quality", "Question quality", "submitted attempt", "Facility", "Discrimination", "Attempts that saw it",
    "Edit the quiz", "Results", "Learners who need help", "published activit", "Computed now", "Risk score", "Why",
    "Thresholds", "Save thresholds", "Record the current state", "Days without activity", "No activity",
    "Has not started", "Average quiz score", "at risk", "Needs help", "Not at risk", "Last activity", "By concept",
    "Quiz answers", "Cards studied", "Recall now", "still held for your review", "Retention", "week by week",
    "Concepts most forgotten", "Per concept", "Per learner", "Memories", "Lapses", "Week ending", " days",
)  # fmt: skip


def spanish_launch(membership, tag: str = "es-MX") -> str:
    """A kept launch of the member, as test_risk's, whose platform asked for ``tag``."""
    import secrets
    import time

    from django.core.cache import cache

    from lms_tool.lti import claims as c
    from lms_tool.lti import services as lti_services
    from lms_tool.lti.types import LtiLaunch

    context = membership.context
    launch = LtiLaunch(
        launch_id=secrets.token_urlsafe(32),
        claims={
            "iat": int(time.time()),
            "sub": membership.user.sub,
            c.MESSAGE_TYPE: "LtiResourceLinkRequest",
            c.ROLES: list(membership.roles),
            c.CONTEXT: {"id": context.context_id, "title": context.title},
            c.LAUNCH_PRESENTATION: {"locale": tag},
        },
        registration_id=context.registration_id,
        deployment_pk=context.deployment_id,
        user_pk=membership.user_id,
        context_pk=context.pk,
        membership_pk=membership.pk,
    )
    kept = {"launch": launch.to_cache(), "issued_at": int(time.time()), "frame_origins": []}
    name, sealed = lti_services._launch_seal(launch.launch_id, kept)
    cache.set(name, sealed, 3600)
    return launch.launch_id


def test_an_instructor_with_a_spanish_locale_reads_the_analytics_pages_and_reasons_in_spanish(world):
    from django.test import Client

    launch_id = spanish_launch(world.teacher)
    client = Client()

    def get(path: str):
        return client.get(path, {"launch": launch_id})

    pages = {
        "question quality": get(f"/analytics/quizzes/{world.quiz2.pk}/items/"),
        "learners who need help": get("/analytics/risk/"),
        "a learner held for review": get(f"/analytics/risk/learners/{world.hank.user_id}/"),
        "a learner who stopped": get(f"/analytics/risk/learners/{world.steve.user_id}/"),
        "retention": get("/analytics/retention/"),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, (name, html[:300])
        assert '<html lang="es"' in html, name
        # The reasons and headings are checked; names of people, quizzes and concepts are the course's own.
        left = [s for s in ANALYTICS_ENGLISH if s in html]
        assert not left, f"English left on {name}: {left}"

    quality = pages["question quality"].content.decode()
    assert "Calidad de las preguntas: Week 2: Energy" in quality and "A partir de 2 intentos entregados" in quality
    risk = pages["learners who need help"].content.decode()
    assert "1 estudiante en riesgo, primero el de mayor riesgo" in risk and "Guardar umbrales" in risk
    assert "Sin actividad desde hace 21 días" in risk and "No ha empezado 2 actividades publicadas" in risk
    assert "Nota media de los cuestionarios del 25%, por debajo del" in risk
    assert "Días sin actividad" in risk  # the thresholds form's labels
    hank = pages["a learner held for review"].content.decode()
    assert "1 respuesta sigue pendiente de tu revisión: la nota del estudiante no es definitiva." in hank
    assert "Sin riesgo" in hank and "Por concepto" in hank
    retention = pages["retention"].content.decode()
    assert "El recuerdo del curso, semana a semana" in retention and "Por estudiante" in retention


def test_the_question_quality_flags_are_sentences_in_the_page_language():
    from django.utils import translation

    from lms_tool.analytics.items import ItemRow, OptionRow, item_flags
    from lms_tool.quizzes.models import Question

    options = [
        OptionRow(0, "Mitocondria", is_key=True, count=8, upper_count=1, share=0.6),
        OptionRow(1, "Núcleo", is_key=False, count=4, upper_count=3, share=0.4),
        OptionRow(2, "Pared", is_key=False, count=0, upper_count=0, share=0.0),
    ]
    row = ItemRow(
        question=Question(type="single", prompt="?"), number=1, attempts=12, mean=0.95, maximum=1,
        facility=0.95, discrimination=-0.2, efficiency=None, options=options, reviewed=4, overridden=2,
    )  # fmt: skip
    with translation.override("es"):
        spanish = {flag.code: flag.text for flag in item_flags(row)}
    with translation.override("en"):
        english = {flag.code: flag.text for flag in item_flags(row)}
    assert set(spanish) == set(english) == {
        "distractor_beats_key", "negative_discrimination", "too_easy", "unused_distractor", "ai_overridden",
    }  # fmt: skip
    assert spanish["unused_distractor"] == "Nadie eligió «Pared»: no distrae a nadie."
    assert english["unused_distractor"] == "Nobody picked \u201cPared\u201d: it distracts no one."
    assert "«Núcleo»" in spanish["distractor_beats_key"] and "2 de 4" in spanish["ai_overridden"]
    assert all(spanish[code] != english[code] for code in spanish)


def test_a_learners_refusals_inside_a_quiz_read_in_spanish(platform_server, canvas, course, student, tool_url):
    learner = enter(canvas, LaunchSpec(student, course, claims_hook=with_locale("es")), tool_url)

    page = learner.get("/quizzes/attempts/999999/")
    script = requests.post(
        learner.url("/quizzes/attempts/999999/answer/"),
        json={"question": 1, "response": [0]},
        headers={"X-LTI-Launch": learner.launch_id, "Accept": "application/json"},
        timeout=10,
    )
    quiz = learner.get("/quizzes/999999/take/")

    assert page.status_code == 404 and '<html lang="es"' in page.text
    assert "No se pudo hacer" in page.text and "Ese intento tuyo no existe en este curso." in page.text
    assert script.status_code == 404 and script.json()["message"] == "Ese intento tuyo no existe en este curso."
    assert quiz.status_code == 404 and "Ese cuestionario no existe en este curso." in quiz.text
    assert "That could not be done" not in page.text and "There is no such" not in page.text + quiz.text
