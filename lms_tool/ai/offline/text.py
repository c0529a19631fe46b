"""Plain-text analysis for the offline provider: sentences, and the terms they state, sorted by kind.

No model and no network: a term's *kind* (year, number, name, singular or plural noun, phrase) is
decided from its shape and how the text uses it, so that a question's distractors are terms of the
same kind from the same text (a year against years, a plural noun against plural nouns).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..quality import CONTEXT_OPENERS, FILLER_WORDS
from ..tables import Table, tables_extract

STOPWORDS = frozenset(
    """a about above after again against all almost also although always am among an and another any are as at
    be because been before being below between both but by can could did do does doing done down during each
    either else enough etc even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just least less like made make makes many may me might
    more most much must my myself neither no nor not now of off often on once one only or other others our ours
    ourselves out over own per perhaps quite rather same several she should since so some such than that the their
    theirs them themselves then there therefore these they this those though through thus to too under until up upon
    us used using very was we were what whatever when where whether which while who whom whose why will with
    within without would yet you your yours yourself first second third called known include includes including
    usually sometimes often may might must shall new large small high low long short great good well part way ways
    around across along behind beyond near toward towards onto later earlier still
    number numbers kind kinds type types form forms example examples called""".split()  # noqa: SIM905 - a word list reads better as prose
)
DETERMINERS = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "these",
        "those",
        "its",
        "their",
        "his",
        "her",
        "our",
        "each",
        "every",
        "some",
        "many",
        "most",
        "several",
        "both",
        "all",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "called",
    ]
)
# A sentence opening with one of these leans on the one before it: never asked about on its own.
PRONOUN_START = CONTEXT_OPENERS
_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|Dr|Mr|Mrs|Ms|St|vs|cf|approx|ca|No|Fig)\.$|\b[A-Z]\.$")
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]|[.,;:!?()]")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w,]*\d)(?!\.\d)")
_NAME = re.compile(
    r"(?<![\w-])([A-Z][a-z]+(?:-[a-z]+)*(?:\s+(?:(?:of|de|von|van|the)\s+){0,2}[A-Z][a-z]+(?:-[a-z]+)*)*)(?![\w-])"
)
BLANK = "_____"


@dataclass(frozen=True)
class Term:
    text: str
    kind: str  # year | number | name | plural | singular | phrase


@dataclass
class Sentence:
    index: int
    text: str
    terms: list[Term] = field(default_factory=list)

    @property
    def words(self) -> int:
        return len(self.text.split())


def stable_order(key: str) -> str:
    """A deterministic stand-in for randomness: the same text always gives the same order."""
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def _heading(line: str) -> bool:
    """A title line (no full stop, short, its words capitalised), as a PDF gives it without a blank line."""
    words = [w for w in line.split() if w.lower() not in STOPWORDS]
    return (
        bool(words)
        and len(line.split()) <= 10
        and not line.rstrip().endswith((".", ",", ";", ":", "!", "?"))
        and all(w[:1].isupper() or w[:1].isdigit() for w in words)
    )


def split_sentences(text: str) -> list[str]:
    """Sentences of running text; headings, list bullets and fragments without a full stop are skipped."""
    out: list[str] = []
    text = "\n".join(f"\n{line}\n" if _heading(line) else line for line in text.split("\n"))
    for block in re.split(r"\n\s*\n", text):
        block = re.sub(r"\s+", " ", block).strip()
        if not block:
            continue
        pieces = _SPLIT.split(block)
        merged: list[str] = []
        for piece in pieces:
            if merged and _ABBREVIATIONS.search(merged[-1]):
                merged[-1] += " " + piece
            else:
                merged.append(piece)
        out.extend(p.strip() for p in merged if p.strip().endswith((".", "!")))
    return out


def _content(word: str) -> bool:
    return word[0].isalpha() and word not in STOPWORDS and len(word) > 3


_ADJECTIVE_ENDINGS = (
    "al",
    "ic",
    "ous",
    "ful",
    "ive",
    "ary",
    "ern",
    "er",
    "est",
    "ed",
    "ble",
    "ant",
    "ent",
    "ish",
    "ar",
)
_ADJECTIVES = frozenset("large small big high low long short great good new old whole left right main".split())  # noqa: SIM905


def _adjective(word: str) -> bool:
    return word in _ADJECTIVES or (word[0].isalpha() and word.endswith(_ADJECTIVE_ENDINGS))


def _singular_kind(word: str) -> str:
    return "plural" if word.endswith("s") and not word.endswith(("ss", "us", "is")) else "singular"


class TextIndex:
    """The sentences of a text and the terms each one states, with every term grouped by kind."""

    def __init__(self, text: str):
        self.tables: list[Table]
        self.tables, prose = tables_extract(text)
        self.sentences = [Sentence(i, s) for i, s in enumerate(split_sentences(prose))]
        self.by_kind: dict[str, list[Term]] = defaultdict(list)
        self.frequency: Counter[str] = Counter()
        self.asked: list[Term] = []  # the keys questions were written on so far, for variety
        self.statement_uses: Counter[int] = Counter()  # select-all items each sentence served in
        self.statement_roles: defaultdict[int, list[str]] = defaultdict(list)  # ... as "true" or "false"
        self._index_terms()

    def _index_terms(self) -> None:
        tokens = [[t.lower() for t in _TOKEN.findall(s.text)] for s in self.sentences]
        lowered = [[t for t in ts if t[0].isalpha()] for ts in tokens]
        after_determiner: set[str] = set()
        ends_phrase: set[str] = set()  # followed by punctuation or a function word somewhere: not an adjective
        bigrams: Counter[str] = Counter()
        bigrams_ok: set[str] = set()
        bigrams_bad: set[str] = set()
        verbs: set[str] = set()
        for ts, words in zip(tokens, lowered, strict=True):
            self.frequency.update(w for w in set(words) if w not in STOPWORDS and len(w) > 3)
            padded = [".", *ts, "."]
            for i in range(1, len(padded) - 1):
                prev, word, nxt = padded[i - 1], padded[i], padded[i + 1]
                if not word[0].isalpha():
                    continue
                if prev in DETERMINERS or (i > 1 and padded[i - 2] in DETERMINERS and _adjective(prev)):
                    after_determiner.add(word)  # "the X", "the two upper X", "called X"
                if nxt in DETERMINERS:
                    verbs.add(word)  # "pumps the ...": nouns are rarely followed by an article
                elif not nxt[0].isalpha() or nxt in STOPWORDS:
                    ends_phrase.add(word)
                if i + 2 < len(padded) and _content(word) and _content(nxt):
                    pair, after = f"{word} {nxt}", padded[i + 2]
                    bigrams[pair] += 1
                    if prev in DETERMINERS:
                        bigrams_ok.add(pair)
                    if after in DETERMINERS:
                        bigrams_bad.add(pair)  # "pumps the ...": the second word is a verb
        phrases = {
            p
            for p, n in bigrams.items()
            if n >= 2 and p in bigrams_ok and p not in bigrams_bad and not set(p.split()) & FILLER_WORDS
        }
        phrases = self._longer(phrases, bigrams, tokens)
        nouns = (after_determiner & ends_phrase) - verbs - FILLER_WORDS
        names = self._names()
        seen: set[Term] = set()
        for sentence, words in zip(self.sentences, lowered, strict=True):
            terms = self._terms_of(sentence.text, words, names, phrases, nouns)
            sentence.terms = terms
            for term in terms:
                if term not in seen:
                    seen.add(term)
                    self.by_kind[term.kind].append(term)

    @staticmethod
    def _longer(phrases: set[str], bigrams: Counter[str], tokens: list[list[str]]) -> set[str]:
        """A two-word phrase always followed by the same content word is part of a three-word term
        ("rough endoplasmic" of "rough endoplasmic reticulum"): the term is the three words."""
        following: dict[str, Counter[str]] = defaultdict(Counter)
        for ts in tokens:
            for a, b, c in zip(ts, ts[1:], ts[2:], strict=False):
                if f"{a} {b}" in phrases:
                    following[f"{a} {b}"][c] += 1
        out = set(phrases)
        for phrase, after in following.items():
            word, n = after.most_common(1)[0]
            if n == bigrams[phrase] and _content(word) and word not in FILLER_WORDS:
                out.discard(phrase)
                out.add(f"{phrase} {word}")
        return out

    def _names(self) -> set[str]:
        """Capitalised words and runs that also appear capitalised inside a sentence (not just first)."""
        names: set[str] = set()
        for sentence in self.sentences:
            for match in _NAME.finditer(sentence.text):
                if match.start() > 0 and match.group(1).lower() not in STOPWORDS:
                    names.add(match.group(1))
        return names

    def _terms_of(self, text: str, words: list[str], names: set[str], phrases: set[str], nouns: set[str]) -> list[Term]:
        terms: list[Term] = [Term(m.group(1), "year") for m in _YEAR.finditer(text)]
        terms += [Term(m.group(1), "number") for m in _NUMBER.finditer(text) if not _YEAR.fullmatch(m.group(1))]
        terms += [Term(m.group(1), "name") for m in _NAME.finditer(text) if m.group(1) in names]
        taken = " ".join(t.text.lower() for t in terms)
        for a, b, c in zip(words, [*words[1:], ""], [*words[2:], "", ""], strict=True):
            for phrase in (f"{a} {b} {c}", f"{a} {b}"):
                if phrase in phrases and phrase not in taken:
                    terms.append(Term(phrase, "phrase"))
                    taken += f" {phrase}"
        for word in dict.fromkeys(words):
            if (
                word in nouns
                and word not in STOPWORDS
                and len(word) > 3
                and word not in taken.split()
                and not word.endswith(("ly", "ed"))  # adverbs and participles ("connected") are not terms
            ):
                terms.append(Term(word, _singular_kind(word)))
        return terms

    def distractors(self, term: Term, sentence: Sentence, count: int, *, hard: bool = False) -> list[str]:
        """Other terms of the same kind from the text, none of them present in ``sentence``."""
        lowered = sentence.text.lower()
        pool = [
            t.text
            for t in self.by_kind.get(term.kind, [])
            if t.text.lower() != term.text.lower()
            and not re.search(rf"\b{re.escape(t.text.lower())}\b", lowered)
            and t.text.lower() not in term.text.lower()
            and term.text.lower() not in t.text.lower()
        ]
        pool = list(dict.fromkeys(pool))
        if hard:
            # Hard questions: the distractors closest in shape (length) to the answer come first.
            pool.sort(key=lambda t: (abs(len(t) - len(term.text)), stable_order(t + sentence.text)))
        else:
            # The terms the text keeps coming back to first: they are its concepts, plausible to a learner.
            pool.sort(
                key=lambda t: (-min(self.frequency.get(t.lower().split()[-1], 1), 3), stable_order(t + sentence.text))
            )
        return pool[:count]


def blank_out(text: str, term: str) -> str | None:
    """``text`` with ``term`` replaced by a blank, or None when the term is not there exactly once."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)
    if len(pattern.findall(text)) != 1:
        return None
    return pattern.sub(BLANK, text)


def swap_term(text: str, term: str, replacement: str) -> str | None:
    """``text`` stating ``replacement`` where it stated ``term`` (a false statement), or None."""
    blanked = blank_out(text, term)
    if blanked is None:
        return None
    if blanked.startswith(BLANK) and not replacement[:1].isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    return blanked.replace(BLANK, replacement)
