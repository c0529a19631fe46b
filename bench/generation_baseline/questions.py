"""Honest questions from stated facts: every answer is in the text, every distractor is a same-kind term of it.

Each builder returns an item in the same JSON shape the OpenAI-compatible provider asks a model for,
so offline items pass through exactly the validation that model answers do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .text import PRONOUN_START, Sentence, Term, TextIndex, blank_out, stable_order, swap_term

OPTIONS_BY_DIFFICULTY = {"easy": 3, "medium": 4, "hard": 5}
DEFINITION_VERBS = (" is ", " are ", " was ", " were ", " called ", " known as ", " refers to ", " means ")
Item = dict[str, Any]


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


def candidates(index: TextIndex, difficulty: str) -> list[tuple[Sentence, Term]]:
    """Every (sentence, term) pair worth asking about, best first; a sentence may offer several terms."""
    pairs: list[tuple[float, str, Sentence, Term]] = []
    for sentence in index.sentences:
        first = sentence.text.split(" ", 1)[0].lower().strip("\"'(")
        if not 6 <= sentence.words <= 45 or first in PRONOUN_START:
            continue
        for term in sentence.terms:
            if blank_out(sentence.text, term.text) is None:
                continue
            rank = _rank(index, sentence, term, difficulty)
            pairs.append((rank, stable_order(sentence.text + term.text), sentence, term))
    pairs.sort(key=lambda p: (-p[0], p[1]))
    return [(sentence, term) for _, _, sentence, term in pairs]


def _use(available: list[tuple[Sentence, Term]], sentences: set[int]) -> None:
    """Each sentence gives one question: drop every pair of the sentences just used."""
    available[:] = [pair for pair in available if pair[0].index not in sentences]


def _rank(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> float:
    rank = 2.0 if any(v in f" {sentence.text.lower()} " for v in DEFINITION_VERBS) else 0.0
    rank += min(len(index.by_kind.get(term.kind, [])), 6) / 3  # enough same-kind distractors
    frequency = index.frequency.get(term.text.lower(), 1)
    if difficulty == "easy":
        rank += min(frequency, 5) / 2 - sentence.words / 30
    elif difficulty == "hard":
        rank += sentence.words / 20 - min(frequency, 5) / 4
    return rank


def single(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    wanted = OPTIONS_BY_DIFFICULTY[difficulty] - 1
    distractors = index.distractors(term, sentence, wanted, hard=difficulty == "hard")
    if len(distractors) < 2:
        return None
    options = sorted([term.text, *distractors], key=lambda o: stable_order(sentence.text + o))
    return {
        "type": "single",
        "question": "Which word or phrase completes this statement from the text? "
        + _quote(blank_out(sentence.text, term.text) or ""),
        "options": options,
        "answer_index": options.index(term.text),
        "explanation": f"The text states: {_quote(sentence.text)}",
        "source_passage": sentence.text,
    }


def true_false(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    statement, explanation = sentence.text, f"The text states: {_quote(sentence.text)}"
    swapped = _false_version(index, sentence, term) if int(stable_order(sentence.text)[:2], 16) % 2 else None
    if swapped is not None:
        statement = swapped[0]
        explanation += f" The statement has {_quote(swapped[1])} where the text has {_quote(term.text)}."
    return {
        "type": "true_false",
        "question": f"True or false? {statement}",
        "answer": swapped is None,
        "explanation": explanation,
        "source_passage": sentence.text,
    }


def _false_version(index: TextIndex, sentence: Sentence, term: Term) -> tuple[str, str] | None:
    """The sentence with its term swapped for a same-kind term of the text, and that term."""
    for replacement in index.distractors(term, sentence, 3):
        swapped = swap_term(sentence.text, term.text, replacement)
        if swapped is not None:
            return swapped, replacement
    return None


def cloze(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    blanked = blank_out(sentence.text, term.text)
    if blanked is None or (term.kind in ("number", "year") and difficulty == "easy"):
        return None
    return {
        "type": "short",
        "question": f"Fill in the blank with the word or phrase the text uses: {_quote(blanked)}",
        "answer": term.text,
        "explanation": f"The text states: {_quote(sentence.text)}",
        "source_passage": sentence.text,
    }


def numeric(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    if term.kind not in ("number", "year"):
        return None
    blanked = blank_out(sentence.text, term.text)
    if blanked is None:
        return None
    return {
        "type": "numeric",
        "question": f"What number belongs in the blank? {_quote(blanked)}",
        "answer": float(term.text.replace(",", "")),
        "tolerance": 0,
        "explanation": f"The text states: {_quote(sentence.text)}",
        "source_passage": sentence.text,
    }


def free_text(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    if term.kind in ("number", "year") or sentence.words < 10:
        return None
    return {
        "type": "free_text",
        "question": f"In your own words, explain what the text says about {term.text}.",
        "answer": sentence.text,
        "explanation": f"The text states: {_quote(sentence.text)}",
        "source_passage": sentence.text,
    }


def multiple(index: TextIndex, available: list[tuple[Sentence, Term]], difficulty: str) -> tuple[Item, set[int]] | None:
    """ "Which of these does the text state?": two true statements and two with a same-kind term swapped.

    Returns the item and the sentences it used, or None when the text has too little.
    """
    true_ones: list[Sentence] = []
    false_ones: list[tuple[str, Sentence]] = []
    used: set[int] = set()
    for sentence, term in available:
        if sentence.words > 25 or sentence.index in used:
            continue
        swapped = _false_version(index, sentence, term) if len(false_ones) < 2 else None
        if swapped is not None:
            false_ones.append((swapped[0], sentence))
        elif len(true_ones) < 2:
            true_ones.append(sentence)
        else:
            continue
        used.add(sentence.index)
        if len(true_ones) == 2 and len(false_ones) == 2:
            break
    else:
        return None
    options = sorted([s.text for s in true_ones] + [f for f, _ in false_ones], key=stable_order)
    sources = [s.text for s in true_ones] + [s.text for _, s in false_ones]
    item = {
        "type": "multiple",
        "question": "Which of these statements does the text make? Select all that apply.",
        "options": options,
        "answer_indices": [options.index(s.text) for s in true_ones],
        "explanation": "The text states: " + " ".join(_quote(s) for s in sources),
        "source_passage": " ".join(sources),
    }
    return item, used


def next_item(kind: str, index: TextIndex, available: list[tuple[Sentence, Term]], difficulty: str) -> Item | None:
    """The next item of ``kind`` from the sentences not used yet (removing those it uses), or None."""
    if kind == "multiple":
        found = multiple(index, available, difficulty)
        if found is None:
            return None
        _use(available, found[1])
        return found[0]
    builder = BUILDERS[kind]
    for sentence, term in available:
        item = builder(index, sentence, term, difficulty)
        if item is not None:
            _use(available, {sentence.index})
            return item
    return None


BUILDERS: dict[str, Callable[[TextIndex, Sentence, Term, str], Item | None]] = {
    "single": single,
    "true_false": true_false,
    "short": cloze,
    "numeric": numeric,
    "free_text": free_text,
}
