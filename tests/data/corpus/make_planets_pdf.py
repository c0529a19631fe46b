"""Writes planets.pdf: a table-heavy course handout with a real text layer (run it to rebuild the file).

No PDF library is needed: each line of prose and each table cell is placed with its own text matrix,
as a word processor's export does, so a PDF reader sees rows of cells rather than ready-made sentences.
Usage: .venv/bin/python tests/data/corpus/make_planets_pdf.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run as a script from anywhere

from tests.quizzes.pdf import pdf_page  # the one-page PDF wrapper the quiz tests use

PROSE_BEFORE = [
    "The Planets of the Solar System",
    "",
    "The Solar System has eight planets that orbit the Sun. The four inner planets, Mercury,",
    "Venus, Earth and Mars, are small rocky worlds. The four outer planets are much larger.",
    "Jupiter and Saturn are gas giants made mostly of hydrogen and helium, while Uranus and",
    "Neptune are ice giants that contain large amounts of water, ammonia and methane.",
    "",
    "Table 1. Size and orbit of the planets",
]
TABLE_1 = [
    ["Planet", "Diameter (km)", "Distance from Sun (million km)", "Orbital period (days)"],
    ["Mercury", "4879", "57.9", "88"],
    ["Venus", "12104", "108.2", "225"],
    ["Earth", "12756", "149.6", "365"],
    ["Mars", "6792", "227.9", "687"],
    ["Jupiter", "142984", "778.5", "4331"],
    ["Saturn", "120536", "1432", "10747"],
    ["Uranus", "51118", "2867", "30589"],
    ["Neptune", "49528", "4515", "59800"],
]
PROSE_MIDDLE = [
    "",
    "Venus is the hottest planet because its thick atmosphere of carbon dioxide traps heat.",
    "Jupiter is the largest planet, and its Great Red Spot is a storm larger than the Earth.",
    "",
    "Table 2. Moons and surface temperature",
]
TABLE_2 = [
    ["Planet", "Known moons", "Mean temperature (C)"],
    ["Mercury", "0", "167"],
    ["Venus", "0", "464"],
    ["Earth", "1", "15"],
    ["Mars", "2", "-65"],
    ["Jupiter", "95", "-110"],
    ["Saturn", "146", "-140"],
    ["Uranus", "28", "-195"],
    ["Neptune", "16", "-200"],
]
PROSE_AFTER = [
    "",
    "Saturn has the most known moons, and its largest moon, Titan, has a thick nitrogen atmosphere.",
    "Pluto was counted as the ninth planet until 2006, when astronomers classified it as a dwarf planet.",
]
COLUMNS = [40, 150, 290, 440]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content() -> str:
    parts = ["BT /F1 10 Tf"]
    y = 800

    def line(text: str, x: int = 40) -> None:
        parts.append(f"1 0 0 1 {x} {y} Tm ({_escape(text)}) Tj")

    for block in (PROSE_BEFORE, TABLE_1, PROSE_MIDDLE, TABLE_2, PROSE_AFTER):
        for row in block:
            if isinstance(row, list):
                for x, cell in zip(COLUMNS, row, strict=False):
                    line(cell, x)
            elif row:
                line(row)
            y -= 14
    parts.append("ET")
    return " ".join(parts)


def pdf_bytes() -> bytes:
    return pdf_page(_content())


if __name__ == "__main__":
    Path(__file__).with_name("planets.pdf").write_bytes(pdf_bytes())
