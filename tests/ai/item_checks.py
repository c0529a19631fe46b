"""Independent checks of generated items: what bench/generation.py counts as "passing", and a test audits.

Deliberately not the quality gate (lms_tool/ai/quality.py) judging its own output: each check here is
a short re-statement of one flaw of issue 16 part 4, written separately, with its own word lists and
simpler rules, so that a gate that drifted would show up as offered items failing these checks.
``tests/ai/test_item_checks.py`` holds each check to the hand-labelled flawed items and to good ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lms_tool.ai.types import CardDraft, QuestionDraft

BLANK = "_____"
CHECKS = (
    "concept_tags",
    "blank_is_key",
    "options_same_kind",
    "self_contained",
    "grammatical",
    "specific_prompt",
    "false_is_false",
    "answer_in_text",
    "distinct",
)
# The flaw label of the hand-labelled set each check re-states.
FLAW_OF_CHECK = {
    "concept_tags": "tags",
    "blank_is_key": "filler_blank",
    "options_same_kind": "distractor_kind",
    "self_contained": "lifted",
    "grammatical": "grammar",
    "specific_prompt": "vague_prompt",
    "false_is_false": "keyed_false_true",
    "answer_in_text": "unsupported",
    "distinct": "duplicate",
}
WORD_CLASSES = {"singular", "plural", "phrase", "year", "number", "name", "noun", "verb", "adjective", "term"}
# The commonest English words and the vague nouns teachers named; a blank hiding one of them misses the point.
COMMON = set(
    """a the of and to in is was for on that by with as at from it an be are this which or have has had not but
    were been their its can more also other some such these than into only most may first two one new used use
    way ways part parts site sites kind type types thing things place role form amount area level example
    process result fact case idea group side end time day week year lot set unit piece number point shape size
    important different main major large small high low long good great same whole free common similar
    all any each every many much no""".split()  # noqa: SIM905
)
OPENERS = {
    "this",
    "these",
    "those",
    "that",
    "it",
    "they",
    "he",
    "she",
    "his",
    "her",
    "their",
    "its",
    "some",
    "such",
    "however",
    "therefore",
    "thus",
    "also",
    "but",
    "and",
    "both",
    "another",
    "others",
    "then",
}
DETERMINERS = {"a", "an", "the", "this", "its", "their", "his", "her", "each", "every"}


@dataclass
class Item:
    """A question or a card, flattened to what the checks read."""

    kind: str  # a question type, or "card"
    text: str  # the prompt, or the card's front
    answer: str  # the key: option text, accepted words, the number, the reference, the card's back
    options: list[str] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def item_of_question(q: QuestionDraft) -> Item:
    if q.type == "numeric":
        answer = f"{q.numeric_answer:g}"
    elif q.type in ("short", "free_text"):
        answer = q.answers[0] if q.answers else ""
    elif q.type == "single":
        answer = q.options[q.correct[0]]
    else:
        answer = ""
    return Item(q.type, q.prompt, answer, list(q.options), list(q.correct))


def item_of_card(c: CardDraft) -> Item:
    return Item("card", c.front, c.back, tags=list(c.tags))


def _flat(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text.lower().replace("\u2019", "'"))
    return " " + " ".join(re.findall(r"-?\d+(?:[.,]\d+)*|[a-z][a-z'-]*", text)) + " "


def _quoted(text: str) -> list[str]:
    return re.findall(r"\u201c([^\u201d]+)\u201d", text)


def _statement(item: Item) -> str:
    """The sentence the learner reads as the text's: the quoted stem, or the statement to judge."""
    quoted = [q for q in _quoted(item.text) if BLANK in q]
    if quoted:
        return quoted[0]
    return re.sub(r"^True or false\?\s*", "", item.text)


def concept_tags(item: Item, text: str) -> bool:
    return all(
        t.lower() not in WORD_CLASSES and re.search(rf"\b{re.escape(t.lower())}s?\b", text.lower()) for t in item.tags
    )


def blank_is_key(item: Item, text: str) -> bool:
    statement = _statement(item)
    if BLANK not in statement:
        return True
    if item.answer.lower() in COMMON:
        return False
    # "a _____ substance" hiding "harmless": a describing word before its noun.
    if re.search(r"(less|ful|ous|ive|able|ible)$", item.answer) and re.match(
        r"\s+[a-z]{3,}", after := statement.split(BLANK, 1)[1]
    ):
        return not bool(after)
    before, after = statement.split(BLANK, 1)
    left = re.findall(r"[a-z]+", before.lower())[-1:] if re.search(r"[a-z]\s*$", before.lower()) else []
    right = re.findall(r"[a-z]+", after.lower())[:1] if re.match(r"\s*[a-z]", after) else []
    # Hiding the middle of a term, or a word the text always writes with its neighbour.
    number = bool(re.fullmatch(r"[\d,.]+", item.answer))  # a number before its unit is where numbers go
    if left and right and left[0] not in COMMON and right[0] not in COMMON and not number:
        return False
    # "a plasma _____": a noun (not an adjective) between an article and the blank is half of the term.
    noun_before = re.search(r"\b(?:a|an|the)\s+([a-z]+)\s+$", before)
    if noun_before and not re.search(r"(al|ic|ous|ive|ed|ful|ble|ant|ent|ar|est)$", noun_before.group(1)):
        return False
    flat = _flat(text)
    for pair in ([*left, item.answer.lower()], [item.answer.lower(), *right]):
        if len(pair) == 2 and pair[0] not in COMMON and pair[1] not in COMMON and flat.count(f" {' '.join(pair)} ") > 1:
            return False
    return True


def _shape(option: str) -> str:
    option = option.strip()
    if re.fullmatch(r"1\d{3}|20\d{2}", option):
        return "year"
    if re.fullmatch(r"-?[\d,]+(\.\d+)?", option):
        return "number"
    if option[:1].isupper():
        return "proper"
    return "common-plural" if option.endswith("s") and not option.endswith(("ss", "us", "is")) else "common"


MONTHS = "january february march april may june july august september october november december".split()  # noqa: SIM905


def _after_the(name: str, text: str) -> bool:
    """Whether the text mostly writes this name as "the Name" (an institution, an event), not bare."""
    return text.count(f"the {name}") * 2 >= max(text.count(name), 1)


def options_same_kind(item: Item, text: str) -> bool:
    if item.kind != "single" or len(item.answer.split()) > 6:
        return True
    key_shape = _shape(item.answer)
    if key_shape == "proper":
        month = item.answer.lower() in MONTHS
        if any(
            (o.lower() in MONTHS) != month or _after_the(o, text) != _after_the(item.answer, text) for o in item.options
        ):
            return False
    for option in item.options:
        if re.search(r"\b(so|very|too)\b", option) or option.split()[0].lower() in {"a", "an", "the", "of"}:
            return False  # not a term but a piece of a sentence
        shape = _shape(option)
        if key_shape.startswith("common") and shape.startswith("common") and (" " in option or " " in item.answer):
            continue  # multi-word terms: plural-ness is read on their last word, and varies
        if shape != key_shape:
            return False
    return True


def self_contained(item: Item, text: str) -> bool:
    pieces = (
        item.options if item.kind == "multiple" else [_statement(item), *([item.answer] if item.kind == "card" else [])]
    )
    for piece in pieces:
        first = re.findall(r"[A-Za-z]+", piece)[:1]
        if first and first[0].lower() in OPENERS:
            return False
        if re.search(r"\b(above|below)[,.]|\bthe following\b|\bas shown\b", piece, re.IGNORECASE):
            return False
    return True


def grammatical(item: Item, text: str) -> bool:
    shown = _statement(item).replace(BLANK, item.answer) if BLANK in item.text else item.text
    if re.search(r"\ba [aeio]|\ban [bcdfgjklmnpqrstvwxz]", shown, re.IGNORECASE):
        return False
    asked = re.fullmatch(r"What is ([a-z]+)\?", shown.strip())
    if asked:
        word = asked.group(1)
        # A bare singular noun needs an article unless the text itself uses it bare somewhere.
        used_bare = re.search(rf"(?:^|[.!?]\s+|\b(?:of|in|by|and|or|is|as|for)\s+){word}\b", text, re.IGNORECASE | re.M)
        return bool(used_bare)
    return True


def specific_prompt(item: Item, text: str) -> bool:
    return "what the text says" not in item.text.lower()


def _said(sentence: str, text: str) -> bool:
    return _flat(sentence).strip() in _flat(text)


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a.replace(",", "")) == float(b.replace(",", ""))
    except ValueError:
        return a == b


def _row_says(label: str, value: str, text: str) -> bool:
    """A line of the text (a table row) holding the row's label and the value."""
    return any(label in line and any(_same_number(value, cell) for cell in line.split()) for line in text.splitlines())


_CELL = re.compile(r"\u201c(?P<column>[^\u201d]+)\u201d column for (?P<label>.+?)(?: is (?P<value>\S+?)\.|\?)$")


def false_is_false(item: Item, text: str) -> bool:
    if item.kind == "multiple":
        return not any(_said(o, text) for i, o in enumerate(item.options) if i not in item.correct)
    if item.kind == "true_false" and item.correct == [1]:
        statement = _statement(item)
        cell = _CELL.search(statement)
        if cell and cell.group("value"):
            return not _row_says(cell.group("label"), cell.group("value"), text)
        return not _said(statement, text)
    return True


def answer_in_text(item: Item, text: str) -> bool:
    if item.kind == "multiple":
        return all(_said(item.options[i], text) for i in item.correct)
    statement = _statement(item)
    cell = _CELL.search(item.text)
    if cell:  # a table cell: its row holds the label and the value
        value = item.answer if item.kind != "true_false" else (cell.group("value") or "")
        if item.kind == "true_false" and item.correct == [1]:
            return True  # a false statement: false_is_false decides
        return _row_says(cell.group("label"), value, text)
    if item.kind == "true_false":
        return item.correct == [1] or _said(statement, text)
    if BLANK in statement:
        return _said(statement.replace(BLANK, item.answer), text)
    if item.kind == "free_text":
        return _said(item.answer, text)
    if item.kind == "card":  # the back, in a sentence that shares a word of weight with the front
        asked = {w for w in _flat(item.text).split() if w not in COMMON and w not in WH}
        return any(_said(item.answer, s) and asked & set(_flat(s).split()) for s in re.split(r"(?<=[.!?])\s+|\n", text))
    return _said(item.answer, text)


WH = {"what", "which", "who", "when", "where", "why", "how", "does", "did"}


def _words(item: Item) -> set[str]:
    """The words of weight of what is asked (the quoted statement, not the lead-in) and its answer."""
    asked = _statement(item) if item.kind != "multiple" else " ".join(item.options)
    return {w for w in _flat(f"{asked} {item.answer}").split() if w not in COMMON and w not in WH and len(w) > 2}


def distinct(items: list[Item]) -> list[bool]:
    """For each item, whether no earlier item of the same run asks nearly the same (by shared words)."""
    out = []
    for i, item in enumerate(items):
        mine = _words(item)
        out.append(
            all(
                not mine or len(mine & _words(other)) / len(mine | _words(other)) < 0.75
                for other in items[:i]
                if other.kind == item.kind
            )
        )
    return out


SINGLE_CHECKS = {
    "concept_tags": concept_tags,
    "blank_is_key": blank_is_key,
    "options_same_kind": options_same_kind,
    "self_contained": self_contained,
    "grammatical": grammatical,
    "specific_prompt": specific_prompt,
    "false_is_false": false_is_false,
    "answer_in_text": answer_in_text,
}


def checks_run(items: Iterable[Item], text: str) -> list[dict[str, bool]]:
    """Each item's result on every check, in order."""
    items = list(items)
    results = [{name: check(item, text) for name, check in SINGLE_CHECKS.items()} for item in items]
    for result, unique in zip(results, distinct(items), strict=True):
        result["distinct"] = unique
    return results
