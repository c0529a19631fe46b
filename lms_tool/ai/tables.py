"""Tables in course text: Markdown pipe tables, and the rows of numbers a PDF's text layer gives for a table.

A PDF reader returns a table as lines of single-space-separated cells ("Mars 6792 227.9 687") under a
header line ("Planet Diameter (km) Distance from Sun (million km) ..."), often after a caption line
("Table 1. Size and orbit of the planets"). Left in the prose, those lines run into one long non-sentence;
taken out and read as rows, every cell is a fact the text states, and its column gives distractors of the
same kind (other planets' diameters for a diameter).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_CELL_NUMBER = re.compile(r"^[-\u2212]?\d[\d,]*(?:\.\d+)?%?$")
_CAPTION = re.compile(r"^(?:Table|Tab\.)\s*\d*[.:]?\s*(?P<caption>.+?)\.?$", re.IGNORECASE)
_CONNECTORS = frozenset("of from in per to for and at by".split())  # noqa: SIM905 - a word list


@dataclass
class Table:
    caption: str
    columns: list[str]  # the first column names the rows
    rows: list[list[str]]  # each row: its label, then one cell per other column

    def label(self) -> str:
        return f"the table \u201c{self.caption}\u201d" if self.caption else "the table"


def _number(cell: str) -> bool:
    return bool(_CELL_NUMBER.match(cell.replace("\u2212", "-")))


def _pipe_cells(line: str) -> list[str] | None:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|") and line.count("|") >= 3):
        return None
    return [c.strip() for c in line.strip("|").split("|")]


def _split_row(line: str) -> tuple[str, list[str]] | None:
    """``"Mars 6792 227.9 687"`` as ("Mars", ["6792", "227.9", "687"]); None unless it ends in numbers."""
    tokens = line.split()
    values: list[str] = []
    while tokens and _number(tokens[-1]):
        values.insert(0, tokens.pop())
    if not tokens or not values or len(tokens) > 5 or any(_number(t) for t in tokens):
        return None
    return " ".join(tokens), values


def _header(line: str, columns: int) -> list[str] | None:
    """A header line cut into ``columns`` names: after a closing bracket, or before a capitalised word
    that does not follow a connecting word ("Distance from Sun" stays one name)."""
    tokens = line.split()
    cuts: list[int] = []
    for i in range(1, len(tokens)):
        after_bracket = tokens[i - 1].endswith(")")
        capital = tokens[i][:1].isupper() and tokens[i - 1].lower() not in _CONNECTORS
        if after_bracket or (capital and not _inside_brackets(tokens, i)):
            cuts.append(i)
    if len(cuts) != columns - 1:
        return None
    bounds = [0, *cuts, len(tokens)]
    return [" ".join(tokens[a:b]) for a, b in itertools.pairwise(bounds)]


def _inside_brackets(tokens: list[str], i: int) -> bool:
    before = " ".join(tokens[:i])
    return before.count("(") > before.count(")")


def _caption(line: str) -> str:
    match = _CAPTION.match(line.strip())
    return match.group("caption").strip() if match else ""


def tables_extract(text: str) -> tuple[list[Table], str]:
    """The tables of ``text``, and the text without them (a paragraph break where each one was)."""
    lines = text.split("\n")
    tables: list[Table] = []
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        found = _pipe_table(lines, i) or _text_table(lines, i)
        if found is None:
            i += 1
            continue
        table, start, end = found
        tables.append(table)
        for j in range(start, end):
            keep[j] = False
        i = end
    out: list[str] = []
    for line, kept in zip(lines, keep, strict=True):
        if kept:
            out.append(line)
        elif out and out[-1] != "":
            out.append("")
    return tables, "\n".join(out)


def _pipe_table(lines: list[str], i: int) -> tuple[Table, int, int] | None:
    header = _pipe_cells(lines[i])
    if header is None or i + 1 >= len(lines):
        return None
    rule = _pipe_cells(lines[i + 1])
    if rule is None or not all(re.fullmatch(r":?-{2,}:?", c) for c in rule):
        return None
    rows: list[list[str]] = []
    end = i + 2
    while end < len(lines) and (cells := _pipe_cells(lines[end])) is not None:
        if len(cells) == len(header):
            rows.append(cells)
        end += 1
    if len(rows) < 2:
        return None
    start, caption = _caption_before(lines, i)
    return Table(caption, header, rows), start, end


def _text_table(lines: list[str], i: int) -> tuple[Table, int, int] | None:
    """A header line followed by at least three rows of a label and the same count of numbers."""
    rows: list[list[str]] = []
    end = i + 1
    width = 0
    while end < len(lines):
        split = _split_row(lines[end].strip())
        if split is None or (width and len(split[1]) != width):
            break
        width = len(split[1])
        rows.append([split[0], *split[1]])
        end += 1
    if len(rows) < 3:
        return None
    header = _header(lines[i].strip(), width + 1)
    if header is None:
        return None
    start, caption = _caption_before(lines, i)
    return Table(caption, header, rows), start, end


def _caption_before(lines: list[str], i: int) -> tuple[int, str]:
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and _caption(lines[j]):
        return j, _caption(lines[j])
    return i, ""
