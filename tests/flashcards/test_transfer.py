"""CSV / Anki TSV import with a per-row error report and nothing imported half; export round-trips."""

from __future__ import annotations

import csv
import io

import pytest

from lms_tool.core.models import AuditEvent
from lms_tool.flashcards import transfer
from lms_tool.flashcards.models import Card

from .factories import CardFactory, DeckFactory, learner_in


@pytest.fixture
def deck(db):  # type: ignore[no-untyped-def]
    return DeckFactory(status="draft")


def _import(deck, text: str | bytes, filename: str = "cards.csv"):  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    return transfer.cards_import(deck=deck, data=data, filename=filename, actor=learner_in(deck))


def test_it_imports_a_csv_with_header_tags_quotes_and_cloze(deck):
    text = (
        'front,back,tags\n"What is 2+2?",4,maths arithmetic\n"A, B","line one\nline two",\n'
        '"The {{c1::mitochondria}} is the powerhouse",,biology\n'
    )

    cards = _import(deck, text)

    assert [(c.front, c.back, c.tags, c.kind) for c in cards] == [
        ("What is 2+2?", "4", ["maths", "arithmetic"], "basic"),
        ("A, B", "line one\nline two", [], "basic"),
        ("The {{c1::mitochondria}} is the powerhouse", "", ["biology"], "cloze"),
    ]
    assert all(c.status == Card.Status.APPROVED and c.origin == Card.Origin.IMPORT for c in cards)
    assert AuditEvent.objects.filter(action="flashcards.cards_imported", object_id=str(deck.pk)).exists()


def test_it_imports_an_anki_tsv_export_with_its_header_lines(deck):
    text = "#separator:tab\n#html:false\n#tags column:3\nmitosis\tcell division\tbio cells\nATP\tenergy\t\n"

    cards = _import(deck, text, filename="deck.txt")

    assert [(c.front, c.back, c.tags) for c in cards] == [
        ("mitosis", "cell division", ["bio", "cells"]),
        ("ATP", "energy", []),
    ]


def test_it_places_imported_cards_after_existing_ones(deck):
    CardFactory(deck=deck, position=41)

    cards = _import(deck, "a,b\n")

    assert cards[0].position == 42


def test_malformed_rows_are_all_reported_and_nothing_is_imported(deck):
    text = (
        "front,back,tags\n"
        "good,row,ok\n"  # line 2 fine
        "only one column\n"  # line 3
        ",missing front,x\n"  # line 4
        "missing back,,x\n"  # line 5
        "a,b,c,d\n"  # line 6
        f"long,{'x' * 10_001},\n"  # line 7
    )

    with pytest.raises(transfer.ImportRejected) as raised:
        _import(deck, text)

    assert [(e.line, e.message.split(" (")[0]) for e in raised.value.errors] == [
        (3, "expected 2 or 3 columns"),
        (4, "the front is empty"),
        (5, "the back is empty"),
        (6, "expected 2 or 3 columns"),
        (7, "the back is 10001 characters long"),
    ]
    assert "Nothing was imported" in raised.value.user_message
    assert not Card.objects.filter(deck=deck).exists()


def test_an_unclosed_quote_is_reported_with_its_line(deck):
    with pytest.raises(transfer.ImportRejected) as raised:
        _import(deck, 'a,b\nc,d\n"never closed,b\nc,d\n')

    assert [e.line for e in raised.value.errors] == [3]
    assert "quotes" in raised.value.errors[0].message
    assert not Card.objects.filter(deck=deck).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfefront,back\n", "not UTF-8"),
        (b"", "no cards"),
        (b"front,back\n\n", "no cards"),
        (b"a,b\n" * 5001, "more than 5000"),
        (b"a," + b"b" * (2 * 1024 * 1024), "larger than"),
    ],
)
def test_unreadable_files_are_refused_whole(deck, data, message):
    with pytest.raises(transfer.ImportRejected, match=message):
        _import(deck, data)

    assert not Card.objects.filter(deck=deck).exists()


def test_export_then_import_gives_the_same_cards(deck):
    CardFactory(deck=deck, front="tab\there", back='quote " and\nnewline', tags=["a", "b"])
    CardFactory(deck=deck, front="{{c1::cloze}} text", back="", tags=[])
    CardFactory(deck=deck, front="not approved", status=Card.Status.PROPOSED)
    other = DeckFactory(context=deck.context)

    CardFactory(deck=deck, front="=1+1", back="-2 degrees", tags=["@home"])
    for fmt, name in (("tsv", "x.txt"), ("csv", "x.csv")):
        exported = transfer.cards_export(deck=deck, fmt=fmt)
        cards = _import(other, exported, filename=name)
        assert [(c.front, c.back, c.tags) for c in cards] == [
            ("tab\there", 'quote " and\nnewline', ["a", "b"]),
            ("{{c1::cloze}} text", "", []),
            ("=1+1", "-2 degrees", ["@home"]),
        ]


@pytest.mark.parametrize(("fmt", "name", "reader"), [("csv", "x.csv", {}), ("tsv", "x.txt", {"delimiter": "\t"})])
def test_exports_keep_spreadsheets_from_running_cells_as_formulas_and_import_them_back(deck, fmt, name, reader):
    formula = '=HYPERLINK("http://evil.example","x")'
    CardFactory(deck=deck, front=formula, back="+cmd|' /C calc'!A0", tags=["@x"])
    CardFactory(deck=deck, front="'quoted", back="'-already guarded by hand", tags=[])

    exported = transfer.cards_export(deck=deck, fmt=fmt)
    lines = csv.reader(io.StringIO(exported), **reader)
    rows = [row for row in lines if row and not row[0].startswith("#") and row != ["front", "back", "tags"]]

    assert rows[0] == ["'" + formula, "'+cmd|' /C calc'!A0", "'@x"]
    # An apostrophe before plain text is the card's own; one before a formula gets another in front.
    assert rows[1] == ["'quoted", "''-already guarded by hand", ""]
    cards = _import(DeckFactory(context=deck.context), exported, filename=name)
    assert [(c.front, c.back, c.tags) for c in cards] == [
        (formula, "+cmd|' /C calc'!A0", ["@x"]),
        ("'quoted", "'-already guarded by hand", []),
    ]
