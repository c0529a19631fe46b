"""Flashcards from stated facts: "What is X?" for definitions, a cloze for key terms, table cells.

Each card is tagged with the concept it is about, as the text names it (the term asked about, or the
sentence's most specific term when the blank is a number), never a word class: the retention analytics
show tags as concepts (docs/generation.md). Cards pass the same quality gate as model output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..quality import Gate
from ..tables import Table
from ..types import CardDraft, CardGenerationResult, Rejected
from ..validation import card_from_raw
from .questions import candidates, table_cells
from .text import Sentence, Term, TextIndex, blank_out

_DEFINITION = re.compile(
    r"^(?P<det>The |A |An )?(?P<subject>[^,;:]{2,60}?) (?P<verb>is|are) (?P<rest>(?:a|an|the) .+)\.$"
)
CONCEPT_KINDS = ("phrase", "name", "singular", "plural")
TRIES_PER_CARD = 4


def generate(*, text: str, count: int, model: str) -> CardGenerationResult:
    index = TextIndex(text)
    gate = Gate.of(text)
    items: list[CardDraft] = []
    rejected: list[Rejected] = []
    used: set[int] = set()
    raws = _candidates(index, used)
    tries = 0
    for raw in raws:
        if len(items) >= count or tries >= count * TRIES_PER_CARD:
            break
        tries += 1
        card = card_from_raw(raw)
        if not isinstance(card, CardDraft):
            rejected.append(card)
            continue
        refusal = gate.card(card)
        if refusal is not None:
            rejected.append(refusal.rejected(raw))
            continue
        items.append(card)
    if len(items) < count:
        rejected.append(Rejected(f"the text has material for {len(items)} of the {count} cards asked for", None))
    return CardGenerationResult(items=items, rejected=rejected, model=model, prompt=f"{model}: cards count={count}")


def _candidates(index: TextIndex, used: set[int]) -> Iterator[dict[str, Any]]:
    """Card drafts, best first: prose facts, with a table cell every third card while there are any."""
    cells = table_cells(index)
    n = 0
    for sentence, term in candidates(index, "medium"):
        if sentence.index in used:
            continue
        raw = _definition_card(sentence.text, term) or _cloze_card(sentence.text, term)
        if raw is None:
            continue
        raw["tags"] = _tags(index, sentence, term)
        if not raw["tags"]:
            continue
        used.add(sentence.index)
        n += 1
        if n % 3 == 0 and cells:
            yield _table_card(*cells.pop(0))
        yield raw
    for cell in cells:
        yield _table_card(*cell)


def _tags(index: TextIndex, sentence: Sentence, term: Term) -> list[str]:
    """The concept the card is about, as the text names it."""
    if term.kind in CONCEPT_KINDS:
        return [term.text if term.kind == "name" else term.text.lower()]
    concepts = [t for t in sentence.terms if t.kind in CONCEPT_KINDS]
    concepts.sort(key=lambda t: (-index.frequency.get(t.text.lower().split()[-1], 1), t.kind != "phrase"))
    return [concepts[0].text if concepts[0].kind == "name" else concepts[0].text.lower()] if concepts else []


def _definition_card(sentence: str, term: Term) -> dict[str, Any] | None:
    match = _DEFINITION.match(sentence)
    if match is None or match.group("subject").lower() != term.text.lower():
        return None
    subject, verb = match.group("subject"), match.group("verb")
    subject = subject if term.kind == "name" else subject[0].lower() + subject[1:]
    article = (match.group("det") or "").strip().lower()
    front = f"What {verb} {f'{article} ' if article else ''}{subject}?"
    return {"front": front, "back": sentence, "source_passage": sentence}


def _cloze_card(sentence: str, term: Term) -> dict[str, Any] | None:
    blanked = blank_out(sentence, term.text)
    if blanked is None:
        return None
    return {"front": blanked, "back": term.text, "source_passage": sentence}


def _table_card(table: Table, row: int, column: int) -> dict[str, Any]:
    label = table.rows[row][0]
    return {
        "front": f"According to {table.label()}, what is the value in the \u201c{table.columns[column]}\u201d column "
        f"for {label}?",
        "back": table.rows[row][column],
        "source_passage": " ".join(table.rows[row]),
        "tags": [label],
    }
