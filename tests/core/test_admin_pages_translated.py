"""The tool admin's own pages and the names the Django admin gives objects, in Spanish (Accept-Language: es) and,
word for word as before, in English (docs/translation.md)."""

from __future__ import annotations

import re

import pytest

from lms_tool.grading.models import LineItem, Score
from lms_tool.lti import registry, tool_config
from lms_tool.lti.models import Membership, RegistrationInvitation

from ..quizzes.factories import make_course
from .test_health_detail import _scores

pytestmark = pytest.mark.django_db

# Django's Spanish DATETIME_FORMAT: "3 de diciembre de 2026 a las 18:40".
SPANISH_DATE = r"\d{1,2} de [a-z]+ de \d{4} a las \d{2}:\d{2}"


@pytest.fixture(autouse=True)
def _outbox_only(settings):  # type: ignore[no-untyped-def]
    settings.GRADING_PASSBACK_ENABLED = False
    settings.AI = {"BASE_URL": "", "MODEL": ""}


def test_a_spanish_admin_reads_the_health_page_in_spanish_and_monitoring_still_reads_english(admin_client):
    course = make_course()
    dead, posted = _scores(course, 2)
    Score.objects.filter(pk=dead.pk).update(passback_state="dead")
    Score.objects.filter(pk=posted.pk).update(passback_state="posted", posted_at=posted.created_at)  # a date shown

    page = admin_client.get("/healthz/detail", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    figures = admin_client.get("/healthz/detail?format=json", HTTP_ACCEPT_LANGUAGE="es").json()

    for words in (
        "<title>Estado de la herramienta",
        "Requiere atención",
        "1 puntuación en mensajes fallidos",
        "puntuaciones en mensajes fallidos",  # a queue's row
        "Generaciones con IA",
        "0 en cola, 0 en curso, 0 atascadas",
        "última puntuación enviada",
    ):
        assert words in page, words
    assert re.search("Generado el " + SPANISH_DATE, page), page[:2000]
    assert re.search(r"<td>" + SPANISH_DATE + r"</td>", page)  # the last score posted
    for english in ("Needs attention", "score(s)", "Dead letters", "queued,"):
        assert english not in page, english
    assert figures["problems"] == ["1 score(s) dead-lettered"]


def test_the_health_page_in_english_reads_as_before(admin_client):
    Score.objects.filter(pk=_scores(make_course(), 1)[0].pk).update(passback_state="dead")

    page = admin_client.get("/healthz/detail", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for words in ("Tool health", "Needs attention", "1 score(s) dead-lettered", "scores dead-lettered", "0 queued"):
        assert words in page, words


def test_a_spanish_admin_reads_the_registration_page_in_spanish(admin_client):
    course = make_course()
    course.registration.scopes = [tool_config.SCOPE_SCORE]
    course.registration.save()

    spanish = admin_client.get("/lti/config/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    english = admin_client.get("/lti/config/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "<h1>Registrar la herramienta en una plataforma</h1>" in spanish
    assert "Concedidos: Enviar puntuaciones al libro de calificaciones (puntuaciones de AGS)" in spanish
    assert "Leer la lista de participantes del curso (Names and Role Provisioning)" in spanish  # not granted
    assert "Register the tool" not in spanish and "Send scores to the gradebook" not in spanish
    assert "<h1>Register the tool in a platform</h1>" in english
    assert "Granted: Send scores to the gradebook (AGS scores)" in english
    assert "Not granted: Create and manage gradebook columns (AGS line items)" in english


def test_a_spanish_admin_creates_an_invitation_and_reads_the_link_page_in_spanish(admin_client):
    page = admin_client.post(
        "/admin/lti/registrationinvitation/add/", {"label": "", "days": "7"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "Envía este enlace de registro al administrador de <strong>la plataforma</strong>" in page
    assert re.search("deja de funcionar el " + SPANISH_DATE, page), page[:3000]
    assert "Esta es la única vez que se muestra el enlace" in page
    assert 'aria-label="Enlace de registro"' in page and "Volver a las invitaciones" in page
    assert re.search(r'value="[^"]+/lti/register/[^"]+/" data-testid="invitation-url"', page)
    assert "Send this registration link" not in page
    assert RegistrationInvitation.objects.count() == 1


def test_the_admin_names_objects_in_the_language_it_speaks(admin_client):
    course = make_course()
    invitation, _ = registry.invitation_create(label="", created_by="ops")
    membership = Membership.objects.get(context=course.context, user=course.student)
    item = LineItem.objects.create(resource_link=course.link)

    invitations = {
        language: admin_client.get("/admin/lti/registrationinvitation/", HTTP_ACCEPT_LANGUAGE=language).content
        for language in ("es", "en")
    }
    member = {
        language: admin_client.get(
            f"/admin/lti/membership/{membership.pk}/change/", HTTP_ACCEPT_LANGUAGE=language
        ).content
        for language in ("es", "en")
    }
    line_item = {
        language: admin_client.get(f"/admin/grading/lineitem/{item.pk}/change/", HTTP_ACCEPT_LANGUAGE=language).content
        for language in ("es", "en")
    }

    assert f"invitación {invitation.pk}".encode() in invitations["es"]
    assert f"invitation {invitation.pk}".encode() in invitations["en"]
    assert b"Sam en Bio" in member["es"] and b"Sam in Bio" in member["en"]
    assert b"elemento de calificaci\xc3\xb3n de Heart quiz" in line_item["es"]
    assert b"line item of Heart quiz" in line_item["en"]
