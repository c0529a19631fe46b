"""The translatable interface: which language a request gets, the Spanish catalog, localised numbers."""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import translation

from lms_tool.core.messages import mo_build, po_parse
from lms_tool.flashcards.scheduling import human_interval
from lms_tool.lti.language import language_from_tag

LOCALE = Path(__file__).resolve().parent.parent.parent / "locale"
SPANISH = LOCALE / "es" / "LC_MESSAGES" / "django.po"


def test_the_committed_spanish_mo_is_the_po_compiled_and_every_message_is_translated():
    catalog = po_parse(SPANISH.read_text(encoding="utf-8"))
    ids = [line for line in SPANISH.read_text(encoding="utf-8").splitlines() if line.startswith("msgid ")]

    assert SPANISH.with_suffix(".mo").read_bytes() == mo_build(catalog)  # `make messages` was run
    assert len(catalog) == len(ids)  # the header and every message: nothing left untranslated or fuzzy


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
def test_the_python_compiler_reads_the_catalog_as_gnu_msgfmt_does(tmp_path):
    subprocess.run(["msgfmt", "-c", "-o", str(tmp_path / "gnu.mo"), str(SPANISH)], check=True)

    gnu = gettext.GNUTranslations(io.BytesIO((tmp_path / "gnu.mo").read_bytes()))
    ours = gettext.GNUTranslations(io.BytesIO(SPANISH.with_suffix(".mo").read_bytes()))

    assert ours._catalog == gnu._catalog  # type: ignore[attr-defined]
    assert ours.ngettext("%(due)s due", "%(due)s due", 2) == "%(due)s pendientes"


@pytest.mark.parametrize(
    ("tag", "language"),
    [("es", "es"), ("es-MX", "es"), ("es_419", "es"), ("EN-gb", "en"), ("fr-CA", None), ("", None), ("x" * 40, None)],
)
def test_a_locale_tag_falls_back_to_a_listed_language(tag, language):
    assert language_from_tag(tag) == language


def test_intervals_and_the_grading_rule_follow_the_language(settings):
    with translation.override("es"):
        assert [human_interval(timedelta(days=d)) for d in (0, 3, 63)] == ["<1 min", "3 d", "2,1 meses"]
    with translation.override("en"):
        assert [human_interval(timedelta(days=d)) for d in (0, 3, 63)] == ["<1m", "3d", "2.1mo"]


@pytest.mark.django_db
def test_a_page_without_a_launch_speaks_the_browsers_language_with_lang_and_dir(client):
    spanish = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    french = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="fr-FR")

    text = spanish.content.decode()
    assert spanish.status_code == 404 and "Página no encontrada" in text
    assert '<html lang="es" dir="ltr">' in text
    assert spanish["Content-Language"] == "es" and "Accept-Language" in spanish["Vary"]
    assert "Page not found" in french.content.decode() and '<html lang="en" dir="ltr">' in french.content.decode()
