"""An instructor builds a deck over real HTTP: generate from course text, review, approve, publish, import, export."""

from __future__ import annotations

import re

import pytest

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.flashcards import deep_linking
from lms_tool.flashcards.models import Card, Deck, DeckGeneration
from lms_tool.lti import claims as c
from lms_tool.lti.errors import LaunchError
from lms_tool.sandbox.platform import LaunchSpec
from lti_config.celery import app

from .conftest import enter

COURSE_TEXT = (
    "Mitochondria are organelles that produce ATP through cellular respiration. "
    "Ribosomes are the sites of protein synthesis in the cell. "
    "Mitosis is the process by which a cell divides into two identical daughter cells. "
    "Photosynthesis converts light energy into chemical energy stored in glucose."
)


@pytest.fixture
def eager_tasks():  # type: ignore[no-untyped-def]
    """Run the generation task in the request's on-commit hook (the worker path has its own test elsewhere)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def ada(canvas, course, instructor, tool_url):  # type: ignore[no-untyped-def]
    return enter(canvas, LaunchSpec(instructor, course), tool_url)


def _deck(ada, title: str = "Cells") -> Deck:  # type: ignore[no-untyped-def]
    response = ada.post(
        "/flashcards/decks/",
        {
            "title": title,
            "desired_retention": "0.85",
            "maximum_interval": "365",
            "learning_steps": "1m 10m",
            "relearning_steps": "10m",
            "new_cards_per_day": "15",
            "enable_fuzzing": "on",
        },
    )
    assert response.status_code == 200, response.text[:500]
    return Deck.objects.get(title=title)


def test_an_instructor_generates_reviews_and_publishes_a_deck(ada, eager_tasks):
    deck = _deck(ada)
    assert (deck.desired_retention, deck.maximum_interval, deck.new_cards_per_day) == (0.85, 365, 15)

    page = ada.post(f"/flashcards/decks/{deck.pk}/generate", {"text": COURSE_TEXT, "count": "3"})

    generation = DeckGeneration.objects.get(deck=deck)
    assert generation.status == "done" and generation.model and generation.prompt
    proposed = list(Card.objects.filter(deck=deck))
    assert len(proposed) == generation.created_count >= 2
    assert all(c.status == "proposed" and c.origin == "ai" and c.source_passage in COURSE_TEXT for c in proposed)
    assert "wait for your review" in page.text or "waits for your review" in page.text
    # Publishing needs an approved card.
    refused = ada.post(f"/flashcards/decks/{deck.pk}/publish", {"action": "publish"})
    assert refused.status_code == 400 and "Approve at least one card" in refused.text

    first = proposed[0]
    ada.post(
        f"/flashcards/decks/{deck.pk}/cards/{first.pk}/edit",
        {"front": "What do mitochondria produce?", "back": "ATP", "tags": "mitochondria energy", "approve": "1"},
    )
    ada.post(f"/flashcards/decks/{deck.pk}/cards/review", {"action": "delete", "card": str(proposed[1].pk)})
    ada.post(f"/flashcards/decks/{deck.pk}/publish", {"action": "publish"})

    deck.refresh_from_db()
    first.refresh_from_db()
    assert deck.is_published
    assert (first.front, first.tags, first.status) == (
        "What do mitochondria produce?",
        ["mitochondria", "energy"],
        "approved",
    )
    assert not Card.objects.filter(pk=proposed[1].pk).exists()
    assert DomainEvent.objects.filter(type="flashcards.deck_published", subject_id=str(deck.pk)).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "flashcards.deck_created",
        "flashcards.cards_generated",
        "flashcards.card_updated",
        "flashcards.cards_approved",
        "flashcards.card_deleted",
        "flashcards.deck_published",
    } <= actions


def test_bad_deck_settings_are_refused_with_the_field_named(ada):
    deck = _deck(ada)

    response = ada.post(
        f"/flashcards/decks/{deck.pk}/settings",
        {
            "title": "Cells",
            "desired_retention": "1.5",
            "maximum_interval": "0",
            "learning_steps": "1 minute",
            "relearning_steps": "",
            "new_cards_per_day": "5",
        },
    )

    assert response.status_code == 400
    assert "1 minute" in response.text and "less than or equal to 0.99" in response.text
    deck.refresh_from_db()
    assert deck.desired_retention == 0.85


def test_an_import_with_bad_rows_lists_them_and_imports_nothing(ada):
    deck = _deck(ada)
    bad = b"front,back,tags\nok,fine,\n,no front,\nthree,columns,are,four\n"

    response = ada.post(f"/flashcards/decks/{deck.pk}/import", files={"file": ("cards.csv", bad, "text/csv")})

    assert response.status_code == 400
    table = re.search(r'data-testid="import-errors">(.*?)</table>', response.text, re.S).group(1)
    assert re.findall(r'class="num">(\d+)</td>', table) == ["3", "4"]
    assert not Card.objects.filter(deck=deck).exists()


def _spanish(claims):  # type: ignore[no-untyped-def]
    claims[c.LAUNCH_PRESENTATION] = {**claims.get(c.LAUNCH_PRESENTATION, {}), "locale": "es"}
    return claims


def test_an_import_with_bad_rows_lists_them_in_the_instructors_language(canvas, course, instructor, tool_url):
    # docs/translation.md: a launch with locale "es" reads the import's refusal and every row's problem in Spanish.
    ana = enter(canvas, LaunchSpec(instructor, course, claims_hook=_spanish), tool_url)
    deck = _deck(ana)
    bad = b"front,back,tags\nok,fine,\n,no front,\nthree,columns,are,four\nno back,,\n"

    response = ana.post(f"/flashcards/decks/{deck.pk}/import", files={"file": ("cards.csv", bad, "text/csv")})

    assert response.status_code == 400
    table = re.search(r'data-testid="import-errors">(.*?)</table>', response.text, re.S).group(1)
    rows = [
        (line, " ".join(problem.split()))
        for line, problem in re.findall(r'class="num">(\d+)</td><td>(.*?)</td>', table)
    ]
    assert rows == [
        ("3", "el anverso está vacío"),
        ("4", "se esperaban 2 o 3 columnas (anverso, reverso, etiquetas) y hay 4"),
        (
            "5",
            "el reverso está vacío (solo una tarjeta de completar huecos, con {{c1::...}} en el anverso, puede omitirlo)",
        ),
    ]
    assert "No se importó nada: primero hay que corregir 3 problemas." in response.text
    assert "expected 2 or 3 columns" not in response.text and "Nothing was imported" not in response.text
    assert not Card.objects.filter(deck=deck).exists()

    unreadable = ana.post(f"/flashcards/decks/{deck.pk}/import", files={"file": ("cards.csv", b"\xff\xfe", "text/csv")})
    assert unreadable.status_code == 400
    assert "El archivo no es texto UTF-8 (no se puede leer el byte 0). Guárdalo como UTF-8" in unreadable.text


def test_an_import_then_export_round_trips(ada):
    deck = _deck(ada)
    tsv = b"#separator:tab\n#tags column:3\nATP\tenergy currency\tenergy\nDNA\tgenetic code\tgenetics\n"

    response = ada.post(f"/flashcards/decks/{deck.pk}/import", files={"file": ("deck.txt", tsv, "text/plain")})
    exported = ada.get(f"/flashcards/decks/{deck.pk}/export", format="tsv")

    assert response.status_code == 200 and "Imported 2 cards" in response.text
    assert exported.headers["Content-Disposition"] == f'attachment; filename="deck-{deck.pk}.txt"'
    assert exported.text.endswith("ATP\tenergy currency\tenergy\nDNA\tgenetic code\tgenetics\n")


def test_staff_of_another_course_cannot_open_the_deck(ada, canvas, instructor, tool_url):
    deck = _deck(ada)
    other = canvas.add_course("course-202", title="Chemistry")
    canvas.enrol(other, instructor)
    elsewhere = enter(canvas, LaunchSpec(instructor, other), tool_url)

    assert elsewhere.get(f"/flashcards/decks/{deck.pk}/").status_code == 404
    assert elsewhere.post(f"/flashcards/decks/{deck.pk}/publish", {"action": "publish"}).status_code == 404


def test_published_decks_are_offered_to_the_deep_linking_picker(ada):
    deck = _deck(ada)
    Card.objects.create(deck=deck, front="q", back="a", status="approved")
    ada.post(f"/flashcards/decks/{deck.pk}/publish", {"action": "publish"})
    _deck(ada, "Draft deck")

    items = deep_linking.list_items(ada.launch)

    assert [(i.kind, i.id, i.title, i.activity) for i in items] == [("deck", str(deck.pk), "Cells", f"deck:{deck.pk}")]
    assert items[0].score_maximum == 100


def test_a_launch_of_a_deck_link_is_routed_to_review_or_management(ada, canvas, course, instructor, student, tool_url):
    from lms_tool.lti.deep_linking import activity_open_url

    deck = _deck(ada)
    # The deck is still a draft, so a learner's launch of it is answered 404; look at the routing alone.
    sam = enter(canvas, LaunchSpec(student, course), tool_url)
    sam.launch.claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = {"activity": f"deck:{deck.pk}"}
    ada_link = enter(canvas, LaunchSpec(instructor, course, custom={"activity": f"deck:{deck.pk}"}), tool_url)

    assert activity_open_url(sam.launch) == f"/flashcards/decks/{deck.pk}/review/?launch={sam.launch_id}"
    assert activity_open_url(ada_link.launch) == f"/flashcards/decks/{deck.pk}/?launch={ada_link.launch_id}"
    # A malformed id reaches nothing: refused like a pointer to another installation's activity.
    sam.launch.claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = {"activity": "deck:x"}
    with pytest.raises(LaunchError) as refused:
        activity_open_url(sam.launch)
    assert refused.value.code == "activity_foreign" and refused.value.status == 404
