"""Flashcards from stated facts: "What is X?" for definitions, a cloze for the rest."""

from __future__ import annotations

import re

from lms_tool.ai.types import CardDraft, CardGenerationResult, Rejected
from lms_tool.ai.validation import card_from_raw

from .questions import candidates
from .text import TextIndex, blank_out

_DEFINITION = re.compile(r"^(?:The |A |An )?(?P<subject>[^,;:]{2,60}?) (?P<verb>is|are) (?P<rest>.+)\.$")


def generate(*, text: str, count: int, model: str) -> CardGenerationResult:
    index = TextIndex(text)
    items: list[CardDraft] = []
    rejected: list[Rejected] = []
    used: set[int] = set()
    for sentence, term in candidates(index, "medium"):
        if len(items) >= count:
            break
        if sentence.index in used:
            continue
        raw = _definition_card(sentence.text, term.text) or _cloze_card(sentence.text, term.text)
        if raw is None:
            continue
        used.add(sentence.index)
        raw["tags"] = [term.kind]
        card = card_from_raw(raw)
        if isinstance(card, CardDraft):
            items.append(card)
        else:
            rejected.append(card)
    if len(items) < count:
        rejected.append(Rejected(f"the text has material for {len(items)} of the {count} cards asked for", None))
    return CardGenerationResult(items=items, rejected=rejected, model=model, prompt=f"{model}: cards count={count}")


def _definition_card(sentence: str, term: str) -> dict | None:
    match = _DEFINITION.match(sentence)
    if match is None or match.group("subject").lower() != term.lower():
        return None
    subject, verb = match.group("subject"), match.group("verb")
    return {"front": f"What {verb} {subject[0].lower() + subject[1:]}?", "back": sentence, "source_passage": sentence}


def _cloze_card(sentence: str, term: str) -> dict | None:
    blanked = blank_out(sentence, term)
    if blanked is None:
        return None
    return {"front": blanked, "back": term, "source_passage": sentence}
