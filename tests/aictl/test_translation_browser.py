"""The launch's locale picks the language in a real browser: Spanish, and right to left (Arabic pseudo-translation)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lms_tool.core.messages import mo_build, po_parse
from lms_tool.sandbox.platform import LaunchSpec

from ..browser import axe_check
from ..flashcards.conftest import enter
from ..flashcards.factories import CardFactory, DeckFactory

pytestmark = pytest.mark.e2e

SPANISH = Path(__file__).resolve().parent.parent.parent / "locale" / "es" / "LC_MESSAGES" / "django.po"
PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
# Placeholders, markup and entities stay as they are; the words around them become Arabic letters.
_KEEP = re.compile(r"(%\([^)]+\)s|%%|<[^>]+>|&\w+;)")
_LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyz", "ابتثجحخدذرزسشصضطظعغفقكلمنه", strict=True))


def with_locale(tag: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def hook(claims: dict[str, Any]) -> dict[str, Any]:
        claims[PRESENTATION] = {**claims.get(PRESENTATION, {}), "locale": tag}
        return claims

    return hook


def pseudo_arabic(text: str) -> str:
    parts = _KEEP.split(text)
    return "".join(p if _KEEP.fullmatch(p) else "".join(_LETTERS.get(c.lower(), c) for c in p) for p in parts)


def arabic_catalog(root: Path) -> None:
    """Every message the Spanish catalog has, in pseudo-Arabic: enough to see the layout right to left."""
    catalog = {}
    for key in po_parse(SPANISH.read_text(encoding="utf-8")):
        if key == "":
            catalog[key] = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"
        else:
            catalog[key] = "\x00".join(pseudo_arabic(form) for form in key.split("\x04")[-1].split("\x00"))
    target = root / "ar" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.mo").write_bytes(mo_build(catalog))


def test_a_spanish_launch_reviews_in_spanish_and_an_arabic_one_lays_the_page_out_right_to_left(
    platform_server, canvas, course, student, tool_url, page, settings, tmp_path
):
    maria = enter(canvas, LaunchSpec(student, course, claims_hook=with_locale("es-MX")), tool_url)
    deck = DeckFactory(context=maria.context, title="Células", grading_rule="completion")
    CardFactory(deck=deck, front="¿Qué significa **ATP**?", back="Adenosín trifosfato")

    page.goto(maria.url(f"/flashcards/decks/{deck.pk}/review/"))
    page.get_by_role("button", name="Mostrar respuesta").click()

    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.get_by_test_id("counts").inner_text() == "0 pendientes · 1 nueva hoy · Tarjeta nueva"
    assert page.get_by_test_id("grading-rule").inner_text().startswith("Calificado sobre 100: la proporción")
    assert page.get_by_role("group", name="¿Qué tan bien lo recordaste?").is_visible()
    assert page.get_by_test_id("rate-good").inner_text().split("\n")[0] == "Bien"
    assert page.get_by_test_id("interval-good").inner_text() == "10 min"
    axe_check(page, what="the flashcard review page in Spanish")

    # Arabic is not shipped: a pseudo-translation (every message in Arabic letters) shows the layout.
    arabic_catalog(tmp_path)
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]
    settings.LANGUAGES = [*settings.LANGUAGES, ("ar", "العربية")]
    layla = enter(canvas, LaunchSpec(student, course, claims_hook=with_locale("ar")), tool_url)
    page.goto(layla.url(f"/flashcards/decks/{deck.pk}/review/"))
    page.locator("#reveal").click()

    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert (
        page.locator("#reveal").is_hidden() and pseudo_arabic("Good") in page.get_by_test_id("rate-good").inner_text()
    )
    assert page.evaluate("getComputedStyle(document.querySelector('.fc-review')).direction") == "rtl"
    again, easy = (page.get_by_test_id(f"rate-{key}").bounding_box() for key in ("again", "easy"))
    assert again is not None and easy is not None and again["x"] > easy["x"]  # the first button is on the right
    axe_check(page, what="the flashcard review page right to left")
