"""Import cards from CSV or Anki-style TSV (front, back, tags) and export them the same way.

An import is all or nothing: every row is checked first, and one bad row means no card is written and
the instructor gets the list of rows to fix. Anki's plain-text export is tab-separated with optional
``#key:value`` header lines (``#separator:tab``, ``#tags column:3``); tags are separated by spaces.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from lms_tool.core.errors import ToolError, lazy_format
from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser

from .models import Card, Deck

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CLOZE = re.compile(r"\{\{c\d+::.+?\}\}", re.S)
SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
MAX_FIELD = 10_000
MAX_TAG = 100
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): the CSV and TSV exports prefix
# it with an apostrophe, which spreadsheets show as text, and an import takes the apostrophe off again.
# TSV too: spreadsheets open a .tsv/.txt as readily as a .csv.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _guarded(value: str) -> bool:
    # Text that is already apostrophes before a formula gets one more, so the import gives it back whole.
    return value.lstrip("'").startswith(FORMULA_START)


def _cell_out(value: str) -> str:
    return "'" + value if _guarded(value) else value


def _cell_in(value: str) -> str:
    return value[1:] if value.startswith("'") and _guarded(value[1:]) else value


def _limits() -> dict[str, int]:
    return {"MAX_IMPORT_BYTES": 2 * 1024 * 1024, "MAX_IMPORT_ROWS": 5000, **getattr(settings, "FLASHCARDS", {})}


@dataclass
class RowError:
    line: int
    message: StrOrPromise  # lazy: the deck import page shows it in the instructor's language


class ImportRejected(ToolError):
    """The file was not imported; ``errors`` says which rows to fix."""

    def __init__(self, message: StrOrPromise, errors: list[RowError] | None = None):
        super().__init__(message, status=400)
        self.errors = errors or []


@dataclass
class ParsedRow:
    line: int
    front: str
    back: str
    tags: list[str]

    @property
    def kind(self) -> str:
        return Card.Kind.CLOZE if CLOZE.search(self.front) else Card.Kind.BASIC


def _decode(data: bytes) -> str:
    if len(data) > _limits()["MAX_IMPORT_BYTES"]:
        raise ImportRejected(
            lazy_format(_("The file is larger than %(size)s KB; split it."), size=_limits()["MAX_IMPORT_BYTES"] // 1024)
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(
            lazy_format(
                _("The file is not UTF-8 text (byte %(byte)s cannot be read). Save it as UTF-8 and try again."),
                byte=error.start,
            )
        ) from error


def _header(lines: list[str], filename: str) -> tuple[str, int, int]:
    """(separator, tags column index, number of header lines) from Anki's ``#key:value`` lines or the name."""
    separator = "\t" if filename.lower().endswith((".tsv", ".txt")) else ","
    tags_column, skip = 2, 0
    for line in lines:
        if not line.startswith("#") or ":" not in line:
            break
        key, _, value = line[1:].partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "separator":
            separator = SEPARATORS.get(value.lower(), value[:1] or separator)
        elif key == "tags column" and value.isdigit() and int(value) >= 1:
            tags_column = int(value) - 1
        skip += 1
    if skip == 0 and lines and "\t" in lines[0] and separator == ",":
        separator = "\t"  # an Anki export saved as .csv
    return separator, tags_column, skip


def _check_row(line: int, fields: list[str], tags_column: int) -> tuple[ParsedRow | None, list[RowError]]:
    errors: list[RowError] = []
    fields = [_cell_in(f) for f in fields]
    if len(fields) < 2 or len(fields) > max(3, tags_column + 1):
        return None, [
            RowError(
                line, lazy_format(_("expected 2 or 3 columns (front, back, tags), found %(found)s"), found=len(fields))
            )
        ]
    front, back = fields[0].strip(), fields[1].strip()
    tags = fields[tags_column].split() if len(fields) > tags_column else []
    row = ParsedRow(line, front, back, tags)
    if not front:
        errors.append(RowError(line, _("the front is empty")))
    if not back and row.kind != Card.Kind.CLOZE:
        errors.append(
            RowError(line, _("the back is empty (only a cloze card, with {{c1::...}} on the front, may omit it)"))
        )
    too_long = {
        "front": _("the front is %(length)s characters long (at most %(most)s)"),
        "back": _("the back is %(length)s characters long (at most %(most)s)"),
    }
    for name, value in (("front", front), ("back", back)):
        if len(value) > MAX_FIELD:
            errors.append(RowError(line, lazy_format(too_long[name], length=len(value), most=MAX_FIELD)))
    errors += [
        RowError(
            line,
            lazy_format(_("tag %(tag)s... is longer than %(most)s characters"), tag=repr(tag[:20]), most=MAX_TAG),
        )
        for tag in tags
        if len(tag) > MAX_TAG
    ]
    return (row if not errors else None), errors


def cards_parse(*, data: bytes, filename: str = "") -> list[ParsedRow]:
    """Every row of the file, or ImportRejected naming each bad row (line numbers as in the file)."""
    text = _decode(data)
    lines = text.splitlines()
    separator, tags_column, skip = _header(lines, filename)
    reader = csv.reader(io.StringIO("\n".join(lines[skip:])), delimiter=separator, strict=True)
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    next_line = 1
    try:
        for fields in reader:
            # A quoted field may span lines: report the line the row starts on.
            line, next_line = next_line + skip, reader.line_num + 1
            if not any(f.strip() for f in fields):
                continue
            if not rows and not errors and [f.strip().lower() for f in fields[:2]] == ["front", "back"]:
                continue  # a header row
            row, row_errors = _check_row(line, fields, tags_column)
            errors += row_errors
            if row:
                rows.append(row)
            if len(rows) + len(errors) > _limits()["MAX_IMPORT_ROWS"]:
                raise ImportRejected(
                    lazy_format(
                        _("The file has more than %(most)s cards; split it."), most=_limits()["MAX_IMPORT_ROWS"]
                    )
                )
    except csv.Error as error:
        # The csv module's own words (English) stay inside the sentence: they name the parser's problem.
        errors.append(
            RowError(
                next_line + skip,
                lazy_format(_("the row cannot be read (%(problem)s); check its quotes"), problem=str(error)),
            )
        )
    if errors:
        raise ImportRejected(
            lazy_format(
                ngettext_lazy(
                    "Nothing was imported: %(count)s problem to fix first.",
                    "Nothing was imported: %(count)s problems to fix first.",
                    len(errors),
                ),
                count=len(errors),
            ),
            errors,
        )
    if not rows:
        raise ImportRejected(_("The file has no cards in it."))
    return rows


@transaction.atomic
def cards_import_upload(*, deck: Deck, upload: IO[bytes], filename: str, actor: LtiUser) -> list[Card]:
    """``cards_import`` of an uploaded file, read no further than one byte past the size limit."""
    data = upload.read(_limits()["MAX_IMPORT_BYTES"] + 1)
    return cards_import(deck=deck, data=data, filename=filename, actor=actor)


def cards_import(*, deck: Deck, data: bytes, filename: str, actor: LtiUser) -> list[Card]:
    """Add every row of the file to the deck as approved cards, or none of them."""
    rows = cards_parse(data=data, filename=filename)
    start = (Card.objects.filter(deck=deck).aggregate(m=Max("position"))["m"] or 0) + 1
    cards = Card.objects.bulk_create(
        Card(
            deck=deck,
            kind=row.kind,
            front=row.front,
            back=row.back,
            tags=row.tags,
            status=Card.Status.APPROVED,
            origin=Card.Origin.IMPORT,
            position=start + i,
        )
        for i, row in enumerate(rows)
    )
    audit_record(
        actor_type="user",
        actor_id=str(actor.pk),
        action="flashcards.cards_imported",
        object_type="deck",
        object_id=deck.pk,
        after={
            "format": filename.rpartition(".")[2][:10].lower() if "." in filename else "",
            "cards": len(cards),
        },  # no file name: it may name a person
    )
    return cards


def cards_export(*, deck: Deck, fmt: str = "tsv") -> str:
    """The deck's approved cards as Anki-style TSV (with its header lines) or as CSV with a header row.

    Either may be opened in a spreadsheet: a cell that would start a formula gets an apostrophe in front."""
    out = io.StringIO()
    if fmt == "tsv":
        out.write("#separator:tab\n#html:false\n#tags column:3\n")
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["front", "back", "tags"])
    for front, back, tags in Card.objects.approved().filter(deck=deck).values_list("front", "back", "tags"):
        writer.writerow([_cell_out(front), _cell_out(back), _cell_out(" ".join(tags or []))])
    return out.getvalue()
