"""Honest questions from stated facts: every answer is in the text, every distractor is a same-kind term of it.

Each builder returns an item in the same JSON shape the OpenAI-compatible provider asks a model for,
so offline items pass through exactly the validation and the quality gate (lms_tool/ai/quality.py) that
model answers do. What the gate showed the first version got wrong is avoided here at the source
(docs/generation.md): sentences that lean on the one before them are never used, the blank hides a
key term (a name, a number, a term the text repeats or defines) rather than a common word, distractors
agree with the key in kind, number and article, and tables are asked about cell by cell.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from ..quality import FILLER_WORDS, Source, check_lifted
from ..tables import Table
from .text import PRONOUN_START, Sentence, Term, TextIndex, blank_out, stable_order, swap_term

OPTIONS_BY_DIFFICULTY = {"easy": 3, "medium": 4, "hard": 5}
DEFINITION_VERBS = (" is ", " are ", " was ", " were ", " called ", " known as ", " refers to ", " means ")
_BECAUSE = re.compile(r"^(?P<claim>[A-Z][^;:,]{12,}?),? because (?P<why>[^;:]{8,})\.$")
_BY = re.compile(r"^(?P<claim>[A-Z][^;:,]{12,}?) by (?P<how>[^;:]{4,})\.$")
_CLAIMED = re.compile(
    r"(?:^|, )(?P<who>[A-Z][\w.-]*(?: [A-Z][\w.-]*)*) (?P<verb>argued|proposed|claimed|stated|showed|"
    r"noticed|discovered|described|believed|invented|developed|patented|built|wrote|added|studied|attacked) "
)
_ACTIONS = [
    "protect",
    "control",
    "store",
    "carrie",
    "produce",
    "release",
    "break",
    "hold",
    "measure",
    "cause",
    "attack",
    "destroy",
    "defend",
    "oppose",
    "convert",
    "transfer",
    "supplie",
    "form",
    "make",
    "use",
    "contain",
    "capture",
    "give",
    "keep",
    "bring",
    "trap",
    "move",
    "share",
    "attract",
    "engulf",
    "kill",
    "coordinate",
    "mark",
    "bind",
    "cross",
    "ride",
    "slide",
    "shape",
    "rise",
    "absorb",
    "reflect",
    "carry",
    "supply",
]
_DOES = re.compile(r"^(?P<det>The |A |An )?(?P<subject>[A-Za-z][\w -]{2,40}?)(?:, [^,]{3,60},)? (?P<verb>[a-z]+) ")
_ARTICLES = frozenset({"the", "a", "an", "and", "of", "in", "to", "is", "are"})
_REPORTED = re.compile(r"\b(?:states?|argued|claimed|said|showed|believed) that\b")
_DESCRIBING = ("less", "ful", "ous", "ive", "ible", "able")
_SUPERLATIVE = re.compile(r"\b(?:the|its) (?:most|least|\w+est)\b")
_DEFINITION = re.compile(
    r"^(?P<det>The |A |An )?(?P<subject>[a-zA-Z][\w -]{2,50}?) (?P<verb>is|are|was|were) (?:a|an|the) "
)
Item = dict[str, Any]


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


def candidates(index: TextIndex, difficulty: str) -> list[tuple[Sentence, Term]]:
    """Every (sentence, term) pair worth asking about, best first; a sentence may offer several terms."""
    pairs: list[tuple[float, str, Sentence, Term]] = []
    for sentence in index.sentences:
        if not 6 <= sentence.words <= 45 or check_lifted(sentence.text) is not None:
            continue
        for term in sentence.terms:
            if term.text.lower() in FILLER_WORDS or "'" in term.text or blank_out(sentence.text, term.text) is None:
                continue
            if _splits_term(sentence.text, term.text, index):
                continue
            rank = _rank(index, sentence, term, difficulty)
            pairs.append((rank, stable_order(sentence.text + term.text), sentence, term))
    pairs.sort(key=lambda p: (-p[0], p[1]))
    return [(sentence, term) for _, _, sentence, term in pairs]


def _splits_term(sentence: str, term: str, index: TextIndex) -> bool:
    """Whether the term sits inside a longer term of the sentence ("acid" in "citric acid cycle")."""
    lowered = sentence.lower()
    for other in sentence_terms(index, sentence):
        if other != term.lower() and term.lower() in other.split() and other in lowered:
            return True
    return False


def sentence_terms(index: TextIndex, sentence: str) -> list[str]:
    found = next((s for s in index.sentences if s.text == sentence), None)
    return [t.text.lower() for t in found.terms] if found else []


def _use(available: list[tuple[Sentence, Term]], sentences: set[int]) -> None:
    """Each sentence gives one question: drop every pair of the sentences just used."""
    available[:] = [pair for pair in available if pair[0].index not in sentences]


def _rank(index: TextIndex, sentence: Sentence, term: Term, difficulty: str) -> float:
    rank = 2.0 if any(v in f" {sentence.text.lower()} " for v in DEFINITION_VERBS) else 0.0
    rank += min(len(index.by_kind.get(term.kind, [])), 6) / 3  # enough same-kind distractors
    frequency = index.frequency.get(term.text.lower(), 1)
    # A key term is what the text is about: a name, a number, a multi-word term, or a word it repeats.
    rank += {"phrase": 1.5, "name": 1.0, "year": 1.0, "number": 0.8}.get(term.kind, min(frequency, 4) / 4)
    if difficulty == "easy":
        rank += min(frequency, 5) / 2 - sentence.words / 30
    elif difficulty == "hard":
        rank += sentence.words / 20 - min(frequency, 5) / 4
    return rank


def _agrees(term: Term, candidate: str, sentence: str) -> bool:
    """A distractor fits where the key stood: same plural or singular last word, same article."""
    if term.kind == "phrase":
        key_last, other_last = term.text.split()[-1], candidate.split()[-1]
        if _plural(key_last) != _plural(other_last):
            return False
    article = re.search(rf"\b(an?)\s+{re.escape(term.text)}\b", sentence, re.IGNORECASE)
    if article:
        vowel = candidate[:1].lower() in "aeiou"
        return vowel == (article.group(1).lower() == "an")
    return True


def _plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is", "sis"))


def distractors(index: TextIndex, source: Source, sentence: Sentence, term: Term, count: int, hard: bool) -> list[str]:
    """Same-kind terms of the text that fit the sentence and do not make it a true statement."""
    chosen = []
    sort = source.name_class(term.text) if term.kind == "name" else ""
    for candidate in index.distractors(term, sentence, count * 6, hard=hard):
        if not _agrees(term, candidate, sentence.text) or candidate.lower() in FILLER_WORDS or "'" in candidate:
            continue
        if term.kind in ("singular", "plural") and candidate.endswith(_DESCRIBING):
            continue  # "harmless" is not a noun to put where "blood" stood
        if sort and source.name_class(candidate) != sort:
            continue  # a month for a month, a person or place for a person or place
        filled = swap_term(sentence.text, term.text, candidate)
        if filled is None or source.states(filled):
            continue
        chosen.append(candidate)
        if len(chosen) == count:
            break
    return chosen


def single(index: TextIndex, source: Source, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    wanted = OPTIONS_BY_DIFFICULTY[difficulty] - 1
    found = distractors(index, source, sentence, term, wanted, hard=difficulty == "hard")
    if len(found) < 2:
        return None
    options = sorted([term.text, *found], key=lambda o: stable_order(sentence.text + o))
    return {
        "type": "single",
        "question": "Which word or phrase completes this statement from the text? "
        + _quote(blank_out(sentence.text, term.text) or ""),
        "options": options,
        "answer_index": options.index(term.text),
        "explanation": f"The text states: {_quote(sentence.text)}",
        "source_passage": sentence.text,
    }


def true_false(index: TextIndex, source: Source, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    statement, explanation = sentence.text, f"The text states: {_quote(sentence.text)}"
    # About half the statements are false: a sentence drawn for a false one that has no plausible false
    # version is left for another type, so the answers do not all come out "true".
    want_false = bool(int(stable_order(sentence.text)[:2], 16) % 2)
    swapped = _false_version(index, source, sentence, term) if want_false else None
    if want_false and swapped is None:
        return None
    if swapped is not None:
        statement = swapped[0]
        explanation += f" The statement has {_quote(swapped[1])} where the text has {_quote(swapped[2])}."
    return {
        "type": "true_false",
        "question": f"True or false? {statement}",
        "answer": swapped is None,
        "explanation": explanation,
        "source_passage": sentence.text,
    }


def _false_version(index: TextIndex, source: Source, sentence: Sentence, term: Term) -> tuple[str, str, str] | None:
    """The sentence with one term swapped for a same-kind term of the text (a statement the text does not
    make), the term put in, and the term taken out. A date or a number is swapped first: "in 1812" is a
    plausible error, where a swapped noun can be an absurd one ("destroys many lungs")."""
    order = {"year": 0, "number": 1}
    terms = sorted(sentence.terms, key=lambda t: (order.get(t.kind, 2), t != term))
    for candidate in terms:
        if candidate.kind not in order and candidate != term:
            continue
        for replacement in distractors(index, source, sentence, candidate, 4, hard=False):
            if candidate.kind not in order and not _same_slot(source, candidate.text, replacement):
                continue  # a noun the text never uses where this one stands reads as nonsense, not as an error
            swapped = swap_term(sentence.text, candidate.text, replacement)
            if swapped is not None:
                return swapped, replacement, candidate.text
    return None


def _same_slot(source: Source, term: str, other: str) -> bool:
    """Whether the text writes both terms after the same word or before the same word ("immune response",
    "immune system"), articles aside: then one in the other's place is a plausible error."""
    return bool(_neighbours(source.text, term.lower()) & _neighbours(source.text, other.lower()))


_BEFORE = re.compile(r"(\w+)\s*$")
_AFTER = re.compile(r"\s*(\w+)")
_REACH = 64  # characters looked at on each side of an occurrence: longer than any word


@functools.lru_cache(maxsize=4096)
def _neighbours(text: str, word: str) -> frozenset[str]:
    """The words the text writes right before ("<word") and right after (">word") ``word``, across whitespace
    only, articles aside. Found from each occurrence of the word outwards: a pattern that also matched the
    word before it made the regex engine retry that word at every character of the text, minutes for a
    20-page text over a quiz's many candidate swaps (bench/quizzes.py). Cached per text and word: a quiz's
    generation asks for the same terms again and again (a str caches its own hash)."""
    found: set[str] = set()
    for match in re.finditer(rf"\b{re.escape(word)}\b", text, re.IGNORECASE):
        before = _BEFORE.search(text, max(0, match.start() - _REACH), match.start())
        after = _AFTER.match(text, match.end(), match.end() + _REACH)
        if before and before.group(1).lower() not in _ARTICLES:
            found.add(f"<{before.group(1).lower()}")
        if after and after.group(1).lower() not in _ARTICLES:
            found.add(f">{after.group(1).lower()}")
    return frozenset(found)


def cloze(index: TextIndex, source: Source, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
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


def numeric(index: TextIndex, source: Source, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
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


def free_text(index: TextIndex, source: Source, sentence: Sentence, term: Term, difficulty: str) -> Item | None:
    """An open question the sentence answers: "Explain why ..." for a stated cause, "what X is" for a
    definition of a term the text names more than once; never "what the text says about X"."""
    question = _open_question(index, sentence, term)
    if question is None:
        return None
    return {
        "type": "free_text",
        "question": question,
        "answer": sentence.text,
        "explanation": f"The text states: {_quote(sentence.text)}",
        "source_passage": sentence.text,
    }


def _open_question(index: TextIndex, sentence: Sentence, term: Term) -> str | None:
    text = sentence.text
    because = _BECAUSE.match(text)
    if because is not None and not _REPORTED.search(because.group("claim")):
        return f"Explain why {_sentence_case(because.group('claim'), index)}."
    claimed = _CLAIMED.search(text)
    names = {word for t in index.by_kind.get("name", []) for word in t.text.split()}
    if claimed is not None and claimed.group("who").split()[-1] in names:
        return f"Explain in your own words what {claimed.group('who')} {claimed.group('verb')}, according to the text."
    by = _BY.match(text)
    # "... by diffusion", "... by burning coal": a process (not a passive's agent, "executed by Robespierre").
    if by is not None and by.group("how").split()[0].strip(",").endswith(("ing", "ion", "sis")):
        return f"Explain how {_sentence_case(by.group('claim'), index)}."
    does = _DOES.match(text)
    if does is not None and _concept(index, does.group("subject")):
        verb = does.group("verb")
        stem = verb[:-1] if verb.endswith("s") else verb
        if stem in _ACTIONS or stem.rstrip("e") in _ACTIONS:
            auxiliary = "does" if verb.endswith("s") else "do"
            return f"In your own words, explain what {_subject(does, index)} {auxiliary}."
    definition = _DEFINITION.match(text)
    # A definition introduces its concept: the text need not repeat it.
    if definition is None or not _concept(index, definition.group("subject"), 1) or _SUPERLATIVE.search(text):
        return None
    return f"In your own words, explain what {_subject(definition, index)} {definition.group('verb')}."


def _concept(index: TextIndex, subject: str, mentions: int = 2) -> bool:
    """A subject worth an open question: a few words the text comes back to (or a name), not a pronoun."""
    words = subject.split()
    if not 1 <= len(words) <= 4 or words[0].lower() in PRONOUN_START or words[-1].lower() in FILLER_WORDS:
        return False
    return index.frequency.get(words[-1].lower(), 1) >= mentions or (subject[:1].isupper() and len(words) > 1)


def _subject(match: re.Match[str], index: TextIndex) -> str:
    """The sentence's subject with its article, as the text writes it inside a sentence."""
    article = (match.group("det") or "").strip().lower()
    return f"{article} " * bool(article) + _sentence_case(match.group("subject"), index)


def _sentence_case(clause: str, index: TextIndex) -> str:
    """The clause's first letter in lower case, unless the text capitalises that word inside sentences
    too (a name: "Senate", "Locke")."""
    first = clause.split()[0]
    if first.isupper():  # "B cells", "DNA"
        return clause
    upper = any(re.search(rf"(?<=[a-z,] ){re.escape(first)}\b", s.text) for s in index.sentences)
    lower = any(re.search(rf"\b{re.escape(first.lower())}\b", s.text) for s in index.sentences)
    keep = upper and not lower and first not in {"The", "A", "An", "In", "On", "At"}
    return clause if keep else clause[:1].lower() + clause[1:]


# How many sentences one select-all item tries for a false version before giving up. Each try swaps terms and
# checks the result against the whole text; trying every sentence of a 20-page text for each item took minutes
# (bench/quizzes.py); a short text has fewer sentences than this anyway.
_FALSE_VERSION_TRIES = 48


def multiple(
    index: TextIndex, source: Source, available: list[tuple[Sentence, Term]], difficulty: str
) -> tuple[Item, set[int]] | None:
    """ "Which of these does the text state?": two true statements and two with a same-kind term swapped.

    Returns the item and the sentences it used, or None when the text has too little.
    """
    true_ones: list[Sentence] = []
    false_ones: list[tuple[str, Sentence]] = []
    used: set[int] = set()
    # A sentence may serve two select-all items (a short text has few), never twice in one role.
    pairs = sorted(available, key=lambda pair: index.statement_uses[pair[0].index])
    tries = 0
    for sentence, term in pairs:
        uses = index.statement_roles[sentence.index]
        if sentence.words > 32 or sentence.index in used or len(uses) >= 2:
            continue
        wants_false = len(false_ones) < 2 and "false" not in uses
        if wants_false and tries >= _FALSE_VERSION_TRIES:
            return None  # the text's least used sentences gave no plausible false version: not worth every sentence
        swapped = _false_version(index, source, sentence, term) if wants_false else None
        tries += wants_false
        if swapped is not None:
            false_ones.append((swapped[0], sentence))
            uses.append("false")
        elif len(true_ones) < 2 and "true" not in uses:
            true_ones.append(sentence)
            uses.append("true")
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


# ---- tables: each cell is a stated fact, its column gives same-kind distractors -------------------------


def table_cells(index: TextIndex) -> list[tuple[Table, int, int]]:
    """(table, row, column) of every value cell, spread over rows and columns in a stable order."""
    cells = [
        (table, r, c)
        for table in index.tables
        for r in range(len(table.rows))
        for c in range(1, len(table.columns))
        if table.rows[r][c].strip()
    ]
    return sorted(cells, key=lambda cell: stable_order(f"{cell[0].caption}{cell[1]}{cell[2]}"))


def _cell_question(table: Table, row: int, column: int) -> str:
    return (
        f"According to {table.label()}, what is the value in the \u201c{table.columns[column]}\u201d column "
        f"for {table.rows[row][0]}?"
    )


def _cell_source(table: Table, row: int) -> str:
    return f"{table.label()[:1].upper()}{table.label()[1:]}: " + "; ".join(
        f"{name} {value}" for name, value in zip(table.columns, table.rows[row], strict=False)
    )


def table_item(kind: str, table: Table, row: int, column: int, difficulty: str) -> Item | None:
    value = table.rows[row][column]
    others = list(dict.fromkeys(r[column] for r in table.rows if r[column] != value and r[column].strip()))
    common = {
        "explanation": f"{_cell_source(table, row)}.",
        "source_passage": " ".join(table.rows[row]),
    }
    if kind == "numeric":
        try:
            number = float(value.replace(",", "").replace("\u2212", "-").rstrip("%"))
        except ValueError:
            return None
        return {"type": "numeric", "question": _cell_question(table, row, column), "answer": number, **common}
    if kind == "single":
        wanted = OPTIONS_BY_DIFFICULTY[difficulty] - 1
        picked = sorted(others, key=lambda o: stable_order(o + value))[:wanted]
        if len(picked) < 2:
            return None
        options = sorted([value, *picked], key=lambda o: stable_order(table.caption + o))
        return {
            "type": "single",
            "question": _cell_question(table, row, column),
            "options": options,
            "answer_index": options.index(value),
            **common,
        }
    if kind == "true_false":
        shown = value
        if others and int(stable_order(f"{row}{column}")[:2], 16) % 2:
            shown = sorted(others, key=lambda o: stable_order(o + value))[0]
        statement = (
            f"According to {table.label()}, the value in the \u201c{table.columns[column]}\u201d column "
            f"for {table.rows[row][0]} is {shown}."
        )
        return {"type": "true_false", "question": f"True or false? {statement}", "answer": shown == value, **common}
    return None


def next_item(
    kind: str, index: TextIndex, source: Source, available: list[tuple[Sentence, Term]], difficulty: str
) -> Item | None:
    """The next item of ``kind`` from the sentences not used yet (removing those it uses), or None."""
    if kind == "multiple":
        found = multiple(index, source, available, difficulty)
        if found is None:
            return None
        for used in found[1]:
            index.statement_uses[used] += 1
        return found[0]
    builder = BUILDERS[kind]
    # A key the run has asked about already comes last: ten questions on "nucleus" teach one thing.
    asked = {term.text.lower() for term in index.asked}
    for sentence, term in sorted(available, key=lambda pair: pair[1].text.lower() in asked):
        item = builder(index, source, sentence, term, difficulty)
        if item is not None:
            _use(available, {sentence.index})
            index.asked.append(term)
            return item
    return None


BUILDERS: dict[str, Callable[[TextIndex, Source, Sentence, Term, str], Item | None]] = {
    "single": single,
    "true_false": true_false,
    "short": cloze,
    "numeric": numeric,
    "free_text": free_text,
}
TABLE_KINDS = ("numeric", "single", "true_false")
