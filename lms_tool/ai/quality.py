"""The quality gate: every generated question and card passes here before a teacher is offered it.

Offline items and model output alike (``GatedProvider`` wraps whichever provider the settings choose).
Each check refuses what a teacher would delete (docs/generation.md lists them with examples), with a
reason in plain words that the generation pages show. Fewer but good items beat a full quota of weak
ones: nothing here repairs an item, it is offered as it is or held back.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext

from .tables import tables_extract
from .types import CardDraft, CardGenerationResult, GenerationResult, GradeResult, QuestionDraft, Rejected

BLANK = "_____"

# What each check refuses, as a teacher reads it in the run's summary ("held back: 3 because ...").
CHECK_LABELS: dict[str, Promise] = {
    "tags": gettext_lazy("its tags were word classes or not concepts named in the text"),
    "filler_blank": gettext_lazy("the blank hid a common word instead of the point"),
    "distractor_kind": gettext_lazy(
        "a wrong option was not the same kind of answer as the right one, or not a real term"
    ),
    "lifted": gettext_lazy("its sentence needs the text around it to make sense"),
    "grammar": gettext_lazy("it was not grammatical"),
    "vague_prompt": gettext_lazy("it asked what the text says instead of a question about the subject"),
    "keyed_false_true": gettext_lazy("a statement marked false is stated in the text"),
    "unsupported": gettext_lazy("the text does not support its answer"),
    "duplicate": gettext_lazy("it repeated another item"),
}

# Labels a tagger gives to word classes and shapes, never concepts (the "singular", "plural").
GRAMMAR_LABELS = frozenset(
    """singular plural phrase year years number numbers name names noun nouns verb verbs adjective adverb term
    terms concept concepts keyword keywords definition cloze fact facts date dates person place misc general
    other others word words text quiz question answer""".split()  # noqa: SIM905 - a word list reads better as prose
)
FUNCTION_WORDS = frozenset(
    """a an the and or but nor so yet of in on at to for from by with as into onto than that which who whom whose
    this these those it its is are was were be been being has have had do does did not no very too such
    some any all each every both either neither while when where if then there their they them he she his her
    our we you your i me my can could may might must shall should will would also just only even""".split()  # noqa: SIM905
)
# Words a blank should never hide: vague nouns, adjectives and verbs that are not the point of a sentence.
FILLER_WORDS = frozenset(
    """site sites part parts way ways kind kinds type types process processes thing things place places role roles
    use uses form forms amount amounts number numbers area areas level levels result results point points fact facts
    case cases idea ideas example examples group groups side sides end ends time times day days week weeks year years
    lot lots set sets range ranges material materials unit units piece pieces member members method methods means aspect aspects
    feature features factor factors effect effects change changes matter matters rest source sources system systems
    structure structures region regions layer layers shape shapes size sizes state states stage stages step steps
    important different main major minor small large big great high low long short common similar certain various
    same other whole full free new old good bad many much more most less least first second third last next few
    several own real true false best better worst early late simple complex strong weak hard soft fast slow
    make makes made making use used using take takes took give gives gave get gets got keep keeps kept let lets
    call called calls include includes included produce produces produced become becomes became allow allows
    help helps show shows shown find finds found know known think seem seems""".split()  # noqa: SIM905
)
# A statement that opens with one of these leans on the sentence before it.
CONTEXT_OPENERS = frozenset(
    """this these those that it its they them their he she his her him such some both another other others
    however therefore thus also but and or so instead similarly likewise meanwhile moreover furthermore hence
    consequently besides nevertheless nonetheless yet still finally later afterwards then here
    latter former same""".split()  # noqa: SIM905
)
_CONTEXT_PHRASES = re.compile(
    r"\b(?:above|below)(?=\s*[,.;:)]|\s*$)|\b(?:the|these|those)\s+(?:following|preceding|previous)\b"
    r"|\bas\s+(?:shown|seen|mentioned|described|noted)\b|\b(?:mentioned|aforementioned)\b|\bas we saw\b"
    r"|\bthe (?:table|figure|chart|graph|diagram|list|passage|example)s? (?:above|below)\b"
    r"|\bin this (?:chapter|section|case|way|passage|table|figure)\b"
    r"|\b(?:confirmed|rejected|supports?|explains?) (?:the|this|that) (?:idea|theory|view|claim)\."
    r"|(?<=\w )(?<!of )(?:this|these|those) (?!is\b|are\b|was\b|were\b)[a-z]+"
    r"|\b(?:much|far|even|still) (?:\w+er|more \w+|less \w+)\.$",  # "much larger." than what?
    re.IGNORECASE,
)
_VAGUE = re.compile(
    r"\bwhat (?:the|this) (?:text|passage|article|reading|author|chapter) (?:says|said|states|tells|writes)\b"
    r"|\b(?:explain|describe|discuss|summari[sz]e)\b[^.?]{0,40}\b(?:about|regarding)\s+[^.?]{1,40}[.?]?$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\u201c([^\u201d]+)\u201d")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_YEAR = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})$")
# "a" before a vowel sound and "an" before a consonant sound, with the usual exceptions both ways.
_A_BEFORE_VOWEL = re.compile(r"\ba\s+(?!u[nr]i|use|usu|eu|one|once|u\b|uni)([aeiou]\w*)", re.IGNORECASE)
_AN_BEFORE_CONSONANT = re.compile(
    r"\ban\s+(?!hour|honest|honou?r|heir|herb)([bcdfgjklmnpqrstvwxyz]\w*)(?![A-Z])", re.IGNORECASE
)
_WHAT_IS = re.compile(r"^what is ([a-z][a-z-]+)\?$", re.IGNORECASE)
_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
MONTHS = frozenset(
    "january february march april may june july august september october november december".split()  # noqa: SIM905
)
_DETERMINERS = frozenset("a an the this that these those each every its their his her our your my one".split())  # noqa: SIM905


@dataclass(frozen=True)
class Refusal:
    check: str
    reason: str

    def rejected(self, raw: Any) -> Rejected:
        return Rejected(f"held back: {self.reason}", raw, check=self.check)


def _norm(text: str) -> str:
    """Lower case, straight quotes, single spaces, no punctuation other than inside numbers."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    text = re.sub(r"(?<!\d)[.,;:!?()\[\]\"\u201c\u201d]|[.,;:!?()\[\]\"\u201c\u201d](?!\d)", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


# Numbers a text writes in words ("the heart has four chambers") read as the digits a model may give.
_SMALL_NUMBERS = """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty""".split()  # noqa: SIM905 - a word list reads better as prose
NUMBER_WORDS = {word: value for value, word in enumerate(_SMALL_NUMBERS)} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}


def _content(text: str) -> set[str]:
    """The words that carry meaning (and the numbers), lowercased, with a crude plural ending removed."""
    words = _words(text)
    meaning = {_stem(w) for w in words if w not in FUNCTION_WORDS and len(w) > 2 and w not in NUMBER_WORDS}
    digits = {str(NUMBER_WORDS[w]) for w in words if w in NUMBER_WORDS and w != "one"}
    return meaning | digits | {n.replace(",", "") for n in _NUMBER.findall(text)}


_WORD_BEFORE = re.compile(r"(\w+)\s*$")
_LOWER_WORD_AFTER = re.compile(r"\s+([a-z]+)")
_REACH = 64  # characters looked at beside a use: longer than any word


def _word_before(text: str, start: int) -> str:
    """The word written right before ``start``, across whitespace only ("" at a punctuation mark or the start)."""
    found = _WORD_BEFORE.search(text, max(0, start - _REACH), start)
    return found.group(1) if found else ""


def _lower_word_after(text: str, end: int) -> str:
    """The lower-case word written right after ``end``, across whitespace ("" if none)."""
    found = _LOWER_WORD_AFTER.match(text, end, end + _REACH)
    return found.group(1) if found else ""


def _stem(word: str) -> str:
    """A crude common root: "causes", "caused" and "causing" all read "caus"."""
    for ending in ("ies", "ing", "ed", "es", "s"):
        if len(word) > len(ending) + 3 and word.endswith(ending) and not word.endswith(("ss", "us", "is")):
            return word[: -len(ending)] + ("y" if ending == "ies" else "")
    return word


def _numbers(text: str) -> list[float]:
    out = [float(NUMBER_WORDS[w]) for w in _words(text) if w in NUMBER_WORDS and w != "one"]
    for match in _NUMBER.findall(text):
        try:
            out.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return out


class Source:
    """The course text as the gate reads it: its sentences and lines (table rows), normalised."""

    def __init__(self, text: str):
        self.text = text
        self.flat = _norm(text)
        tables, prose = tables_extract(text)
        sentences = re.split(r"(?<=[.!?])\s+|\n", prose)
        self.units = [u for u in (s.strip() for s in sentences) if u]
        # A table row states its cells under the table's caption and column names.
        self.units += [" ".join([t.caption, *t.columns, *row]) for t in tables for row in t.rows]
        self.unit_content = [_content(u) for u in self.units]
        # Which units hold each meaning word: ``states`` intersects these instead of testing every unit.
        self._units_with: dict[str, set[int]] = {}
        for i, content in enumerate(self.unit_content):
            for word in content:
                self._units_with.setdefault(word, set()).add(i)
        self._name_classes: dict[str, str] = {}
        self.words = Counter(_words(text))
        self.numbers = _numbers(text)
        tokens = _words(text)
        self.bigrams = Counter(itertools.pairwise(tokens))
        self._bare: dict[str, bool] = {}

    def contains(self, fragment: str) -> bool:
        return _norm(fragment).strip() in self.flat if fragment.strip() else False

    def names(self, word: str) -> bool:
        """Whether the text names ``word`` (or its singular/plural)."""
        return self.contains(word) or any(self.contains(v) for v in _variants(word))

    def states(self, statement: str) -> bool:
        """Whether one sentence or line of the text says ``statement``: verbatim, or all its meaning words
        (every number and name among them) in that one sentence or table row."""
        if self.contains(statement):
            return True
        wanted = _content(statement) - _LEAD_WORDS
        if not wanted:
            return False
        holders = sorted((self._units_with.get(word, set()) for word in wanted), key=len)
        common = set(holders[0])
        for units in holders[1:]:
            common &= units
            if not common:
                return False
        return bool(common)

    def name_class(self, name: str) -> str:
        """What sort of name, from how the text writes it: a month; after "the" (an institution, an event,
        a body); after "in", "at", "from" (a place); before a lower-case noun ("European music", a
        describing name); else bare (mostly people). Plus one word or several."""
        if name not in self._name_classes:
            self._name_classes[name] = self._name_class(name)
        return self._name_classes[name]

    def _name_class(self, name: str) -> str:
        words = "one" if " " not in name.strip() else "several"
        if name.strip().lower() in MONTHS:
            return "month"
        # Each use with the word written right before it and the lower-case word right after it (across
        # whitespace only), found from the name outwards: a pattern that also matched the word before made the
        # regex engine retry it at every character of the text (minutes for a 20-page text, bench/quizzes.py).
        uses = [
            (_word_before(self.text, m.start()), _lower_word_after(self.text, m.end()))
            for m in re.finditer(rf"\b{re.escape(name)}\b", self.text)
        ]
        if not uses:
            return f"bare-{words}"
        before = Counter(b.lower() for b, _ in uses)
        half = len(uses) / 2
        if re.search(r"(?:ans|ese|ians)$", name.strip()):
            sort = "people"  # "Romans", "Chinese": never among places or persons
        elif (
            re.search(r"(?:an|ese|ish|ch|ic|al|que)$", name.strip())
            and sum(1 for _, after in uses if after and _noun_after(after)) >= half
        ):
            sort = "describing"
        elif sum(1 for _, after in uses if after and _verb_after(after)) >= half:
            sort = "agent"  # "Wegener proposed", "Hannibal crossed": a person (or a body acting as one)
        elif before["the"] >= half:
            sort = "the"
        elif sum(before[w] for w in ("in", "at", "from", "to", "near", "across")) >= half:
            sort = "place"
        else:
            sort = "bare"
        return f"{sort}-{words}"

    def bare(self, word: str) -> bool:
        """Whether the text ever uses ``word`` without an article or a word before it ("photosynthesis is")."""
        if word not in self._bare:
            pattern = re.compile(rf"(?:^|(?<=[.;:!?]\s)|\b(\w+)\s+){re.escape(word)}\b", re.IGNORECASE | re.M)
            self._bare[word] = any(
                m.group(1) is None or (m.group(1).lower() in FUNCTION_WORDS and m.group(1).lower() not in _DETERMINERS)
                for m in pattern.finditer(self.text)
            )
        return self._bare[word]


# Words a question adds around a stated fact ("According to the table ..."), not part of the fact.
_LEAD_WORDS = frozenset(
    "according table text value column row true false statement select apply which what how many much".split()  # noqa: SIM905
)


_VERBS_AFTER_NAMES = frozenset(
    "was were is are had has have took made wrote won became gave led built drew saw said went came began".split()  # noqa: SIM905
)


def _verb_after(word: str) -> bool:
    return word in _VERBS_AFTER_NAMES or (word.endswith("ed") and not word.endswith("eed"))


def _noun_after(word: str) -> bool:
    """Whether the word after a name is a noun it describes ("French monarchy"), not its verb ("Locke argued")."""
    return word not in FUNCTION_WORDS and word not in _VERBS_AFTER_NAMES and not word.endswith("ed")


def _variants(word: str) -> list[str]:
    if word.endswith("ies"):
        return [word[:-3] + "y"]
    if word.endswith("es"):
        return [word[:-2], word[:-1]]
    if word.endswith("s"):
        return [word[:-1]]
    return [word + "s", word + "es"]


def _kind(option: str) -> str:
    """year | number | name | plural | singular | phrase: the shape of a short answer."""
    text = option.strip()
    if _YEAR.match(text):
        return "year"
    if re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?(?:\s*%)?", text):
        return "number"
    words = text.split()
    if all(w[:1].isupper() for w in words if w.lower() not in FUNCTION_WORDS):
        return "name"
    if len(words) > 1:
        return "phrase"
    return "plural" if _plural(text.lower()) else "singular"


def _plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is", "sis"))


def _statements(draft: QuestionDraft) -> list[str]:
    """The sentences of the item that a learner reads as statements of the text."""
    if draft.type == "multiple":
        return list(draft.options)
    quoted = _QUOTED.findall(draft.prompt)
    if quoted and BLANK in "".join(quoted):
        return [q for q in quoted if BLANK in q]
    if draft.type == "true_false":
        return [re.sub(r"^true or false\??\s*", "", draft.prompt, flags=re.IGNORECASE)]
    return [draft.prompt] if not quoted else []


def _key(draft: QuestionDraft) -> str:
    if draft.type == "single" and draft.correct:
        return draft.options[draft.correct[0]]
    if draft.type == "short" and draft.answers:
        return draft.answers[0]
    if draft.type == "numeric" and draft.numeric_answer is not None:
        return f"{draft.numeric_answer:g}"
    return ""


# ---- the checks: each returns a refusal or None ------------------------------------------------------


def check_tags(tags: Iterable[str], source: Source) -> Refusal | None:
    for tag in tags:
        label = tag.strip().lower()
        if label in GRAMMAR_LABELS:
            return Refusal("tags", f"its tag \u201c{tag}\u201d is a word class, not a concept of the text")
        if not source.names(label):
            return Refusal("tags", f"its tag \u201c{tag}\u201d is not named in the text")
    return None


def check_blank(statement: str, key: str, source: Source) -> Refusal | None:
    """The blank must hide the point of the sentence: a whole key term, not a common word or half a term."""
    if BLANK not in statement or not key:
        return None
    word = key.strip().lower()
    if word in FUNCTION_WORDS or word in FILLER_WORDS or (word.endswith("ly") and " " not in word):
        return Refusal("filler_blank", f"the blank hides \u201c{key}\u201d, a common word, not the point")
    before, _, after = statement.partition(BLANK)
    prev = (_words(before)[-1:] or [""])[0] if before and before.rstrip()[-1:].isalnum() else ""
    nxt = (_words(after)[:1] or [""])[0] if after and after.lstrip()[:1].isalnum() else ""
    last, first = word.split()[-1], word.split()[0]
    inner = [n for n in (prev, nxt) if n and n not in FUNCTION_WORDS]
    if prev and nxt and len(inner) == 2 and not _NUMBER.fullmatch(key.strip()):
        return Refusal("filler_blank", f"the blank cuts the term \u201c{prev} {key} {nxt}\u201d in pieces")
    for left, right in ((prev, first), (last, nxt)):
        content = left and right and left not in FUNCTION_WORDS and right not in FUNCTION_WORDS
        if content and source.bigrams[(left, right)] >= 2:
            return Refusal("filler_blank", f"the blank hides only part of the term \u201c{left} {right}\u201d")
    raw_prev = re.findall(r"[A-Za-z][\w'-]*", before)[-1:]
    raw_next = re.findall(r"[A-Za-z][\w'-]*", after)[:1]
    starts = not before.strip() or before.rstrip().endswith((".", ":", "\u201c"))
    beside_name = (raw_prev and raw_prev[0][:1].isupper() and len(_words(before)) > 1) or (
        raw_next and raw_next[0][:1].isupper() and after[:1] == " "
    )
    if key[:1].islower() and beside_name and not starts:
        return Refusal("filler_blank", "the blank hides part of a name")
    earlier = _words(before)[-2:-1] if prev else []
    if " " not in word and key.islower() and earlier and earlier[0] in _DETERMINERS and _modifier(prev):
        return Refusal("filler_blank", f"the blank hides only part of the term \u201c{prev} {key}\u201d")
    if " " not in word and word[:1].isalpha() and re.search(rf"\b(?i:{re.escape(word)}) (?:the|a|an)\b", source.text):
        return Refusal("filler_blank", f"the blank hides \u201c{key}\u201d, a verb, not the point")
    if " " not in word and word.endswith(_DESCRIBING) and nxt and nxt not in FUNCTION_WORDS and nxt.islower():
        return Refusal("filler_blank", f"the blank hides \u201c{key}\u201d, a describing word, not the point")
    return None


# Endings of describing words: "a _____ substance" hiding "harmless" asks for an adjective, not the point.
_DESCRIBING = ("less", "ful", "ous", "ive", "al", "ic", "able", "ible", "ish")
_ADJECTIVE_ENDINGS = (
    "al",
    "ic",
    "ous",
    "ful",
    "ive",
    "ary",
    "ern",
    "ed",
    "ble",
    "ant",
    "ent",
    "ish",
    "ar",
    "less",
    "est",
)


def _modifier(word: str) -> bool:
    """A noun before the blank that makes one term with it ("a plasma _____"), not an adjective."""
    return bool(word) and word.islower() and word not in FUNCTION_WORDS and not word.endswith(_ADJECTIVE_ENDINGS)


def check_options(draft: QuestionDraft, source: Source) -> Refusal | None:
    """Short-answer options must be the key's kind (a number for a number...) and real terms."""
    if draft.type != "single" or not draft.correct:
        return None
    key = draft.options[draft.correct[0]]
    if len(key.split()) > 6:
        return None  # whole statements as options: their kind is checked as statements
    kind = _kind(key)
    stem = " ".join(_QUOTED.findall(draft.prompt)) or draft.prompt
    article = re.search(r"\b(an?)\s+" + re.escape(BLANK), stem, re.IGNORECASE)
    for option in draft.options:
        if option == key:
            continue
        words = _words(option)
        low = option.strip().lower()
        if not option.strip() or (words and (words[0] in FUNCTION_WORDS or words[-1] in FUNCTION_WORDS)):
            return Refusal("distractor_kind", f"the option \u201c{option}\u201d is not a term of its own")
        if any(w in {"so", "very", "too", "is", "are", "was", "were"} for w in words):
            return Refusal("distractor_kind", f"the option \u201c{option}\u201d is not a term of its own")
        other = _kind(option)
        compatible = {kind, other} <= {"plural", "singular", "phrase"} and "phrase" in {kind, other}
        if other != kind and not compatible:
            return Refusal(
                "distractor_kind",
                f"the option \u201c{option}\u201d is not the same kind of answer as \u201c{key}\u201d",
            )
        if low in _variants(key.lower()) or key.lower() in _variants(low):
            return Refusal("distractor_kind", f"the option \u201c{option}\u201d is another form of the answer")
        if len(option.split()) > 2 * len(key.split()) + 2:
            return Refusal("distractor_kind", f"the option \u201c{option}\u201d is much longer than the answer")
        if article and _article_wrong(article.group(1), option):
            return Refusal("distractor_kind", f"\u201c{article.group(1)} {option}\u201d gives the answer away")
    return None


def _article_wrong(article: str, word: str) -> bool:
    phrase = f"{article} {word}"
    return bool(_A_BEFORE_VOWEL.search(phrase) or _AN_BEFORE_CONSONANT.search(phrase))


def check_lifted(statement: str) -> Refusal | None:
    words = _words(statement)
    if words and words[0] in CONTEXT_OPENERS:
        opener = statement.strip().split()[0].strip(",;:")
        return Refusal("lifted", f"it starts with \u201c{opener}\u201d and needs the text before it to make sense")
    match = _CONTEXT_PHRASES.search(statement)
    if match:
        return Refusal("lifted", f"\u201c{match.group(0).strip()}\u201d points at something the item does not show")
    return None


def check_grammar(text: str, source: Source, key: str = "") -> Refusal | None:
    filled = text.replace(BLANK, key) if key else text
    if text[:1].islower():
        return Refusal("grammar", f"\u201c{text[:40]}\u2026\u201d does not start as a sentence does")
    for pattern in (_A_BEFORE_VOWEL, _AN_BEFORE_CONSONANT):
        match = pattern.search(filled)
        if match:
            return Refusal("grammar", f"\u201c{match.group(0)}\u201d is not grammatical")
    doubled = _DOUBLED.search(filled)
    if doubled and not doubled.group(1).isdigit() and doubled.group(1).lower() not in {"had", "that"}:
        return Refusal("grammar", f"\u201c{doubled.group(0)}\u201d repeats a word")
    what = _WHAT_IS.match(filled.strip())
    if what:
        word = what.group(1).lower()
        if not _plural(word) and not source.bare(word):
            return Refusal(
                "grammar", f"\u201c{filled.strip()}\u201d lacks an article: the text never says {word} alone"
            )
    return None


def check_vague(draft: QuestionDraft) -> Refusal | None:
    if draft.type == "free_text" and _VAGUE.search(draft.prompt):
        return Refusal("vague_prompt", "it asks what the text says about a topic instead of a question about it")
    return None


def check_support(draft: QuestionDraft, source: Source) -> Refusal | None:
    """The key must be stated in the text, and a statement keyed false must not be."""
    unsupported = Refusal("unsupported", "the text does not state its answer")
    if draft.type == "multiple":
        for index, option in enumerate(draft.options):
            stated = source.states(option)
            if index in draft.correct and not stated:
                return unsupported
            if index not in draft.correct and stated:
                return Refusal("keyed_false_true", f"\u201c{option}\u201d is marked false, but the text says it")
        return None
    if draft.type == "true_false":
        statement = _statements(draft)[0]
        stated = source.states(statement)
        if draft.correct == [0] and not stated:
            return unsupported
        if draft.correct == [1] and stated:
            return Refusal("keyed_false_true", f"\u201c{statement}\u201d is marked false, but the text says it")
        return None
    if draft.type == "free_text":
        wanted = _content(draft.answers[0] if draft.answers else "")
        have = set().union(*source.unit_content) if source.unit_content else set()
        return unsupported if not wanted or len(wanted & have) / len(wanted) < 0.8 else None
    key = _key(draft)
    statements = [s for s in _statements(draft) if BLANK in s]
    if statements:
        return None if source.states(statements[0].replace(BLANK, key)) else unsupported
    if draft.type == "numeric":
        value, tolerance = draft.numeric_answer or 0.0, draft.tolerance
        # The number, in a sentence or table row that also holds most of what the question names.
        asked = _content(draft.prompt) - _LEAD_WORDS
        for unit, have in zip(source.units, source.unit_content, strict=True):
            if any(abs(n - value) <= tolerance for n in _numbers(unit)) and len(asked & have) >= 0.6 * len(asked):
                return None
        return unsupported
    if not key or not source.names(key):
        return unsupported
    if draft.source_passage and not source.states(draft.source_passage):
        return unsupported
    return None


def _signature(text: str) -> frozenset[str]:
    return frozenset(_content(text.replace(BLANK, " ")) - _LEAD_WORDS)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.7


@dataclass
class Gate:
    """One run's gate: the source text, and the items offered so far (for near-duplicates)."""

    source: Source
    seen: list[tuple[frozenset[str], str]] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> Gate:
        return cls(Source(text))

    def question(self, draft: QuestionDraft) -> Refusal | None:
        """Why ``draft`` is held back, or None (and it is remembered as offered)."""
        refusal = self._question(draft)
        if refusal is None:
            refusal = self._duplicate(" ".join([draft.prompt, *draft.options, _key(draft)]), draft.prompt)
        return refusal

    def _question(self, draft: QuestionDraft) -> Refusal | None:
        key = _key(draft)
        for statement in _statements(draft):
            for found in (check_lifted(statement), check_blank(statement, key, self.source)):
                if found:
                    return found
        checks = [check_grammar(s, self.source, key) for s in [draft.prompt, *_statements(draft)]]
        checks += [check_options(draft, self.source), check_vague(draft), check_support(draft, self.source)]
        return next((c for c in checks if c is not None), None)

    def card(self, card: CardDraft) -> Refusal | None:
        refusal = check_tags(card.tags, self.source)
        front = card.front
        if refusal is None and BLANK in front:
            refusal = check_lifted(front) or check_blank(front, card.back, self.source)
            if refusal is None and not self.source.states(front.replace(BLANK, card.back)):
                refusal = Refusal("unsupported", "the text does not state its answer")
        elif refusal is None:
            refusal = check_lifted(front) or check_lifted(card.back)
            if refusal is None and not self._answers(front, card.back):
                refusal = Refusal("unsupported", "the text does not state its answer")
        refusal = refusal or check_grammar(front, self.source, card.back if BLANK in front else "")
        return refusal or self._duplicate(f"{front} {card.back}", front)

    def _answers(self, front: str, back: str) -> bool:
        """Whether one sentence or table row of the text holds the back and most of what the front asks."""
        wanted, asked = _content(back) - _LEAD_WORDS, _content(front) - _LEAD_WORDS
        if not wanted:
            return False
        return any(not wanted - have and len(asked & have) >= 0.5 * len(asked) for have in self.source.unit_content)

    def _duplicate(self, text: str, shown: str) -> Refusal | None:
        signature = _signature(text)
        for other, other_shown in self.seen:
            if _similar(signature, other):
                return Refusal("duplicate", f"it asks almost the same as \u201c{other_shown[:80]}\u201d")
        self.seen.append((signature, shown))
        return None


def questions_gated(result: GenerationResult, text: str, gate: Gate | None = None) -> GenerationResult:
    gate = gate or Gate.of(text)
    items: list[QuestionDraft] = []
    rejected = list(result.rejected)
    for draft in result.items:
        refusal = gate.question(draft)
        if refusal is None:
            items.append(draft)
        else:
            rejected.append(refusal.rejected(_raw(draft)))
    return replace(result, items=items, rejected=rejected)


def cards_gated(result: CardGenerationResult, text: str, gate: Gate | None = None) -> CardGenerationResult:
    gate = gate or Gate.of(text)
    items: list[CardDraft] = []
    rejected = list(result.rejected)
    for card in result.items:
        refusal = gate.card(card)
        if refusal is None:
            items.append(card)
        else:
            rejected.append(refusal.rejected({"front": card.front, "back": card.back, "tags": card.tags}))
    return replace(result, items=items, rejected=rejected)


def _raw(draft: QuestionDraft) -> dict[str, Any]:
    return {
        "type": draft.type,
        "question": draft.prompt,
        "options": draft.options,
        "correct": draft.correct,
        "answers": draft.answers,
        "numeric_answer": draft.numeric_answer,
    }


def held_back_summary(rejected: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many items the gate held back, per check, in plain words, most frequent first."""
    counts = Counter(str(r.get("check")) for r in rejected if r.get("check") in CHECK_LABELS)
    return [{"check": c, "label": str(CHECK_LABELS[c]), "count": n} for c, n in counts.most_common()]


def held_back_sentence(rejected: Iterable[dict[str, Any]], noun: str = "item") -> str:
    """The summary a generation page shows: "3 questions held back by the quality check: 2 because ..."."""
    summary = held_back_summary(rejected)
    total = sum(s["count"] for s in summary)
    if not total:
        return ""
    # Shown to teachers in the launch's language (docs/translation.md); one whole sentence per noun so a
    # translator can agree the words with it.
    parts = "; ".join(
        gettext("%(count)d because %(reason)s") % {"count": s["count"], "reason": s["label"]} for s in summary
    )
    if noun == "question":
        sentence = ngettext(
            "%(count)d question held back by the quality check: %(parts)s.",
            "%(count)d questions held back by the quality check: %(parts)s.",
            total,
        )
    elif noun == "card":
        sentence = ngettext(
            "%(count)d card held back by the quality check: %(parts)s.",
            "%(count)d cards held back by the quality check: %(parts)s.",
            total,
        )
    else:
        sentence = ngettext(
            "%(count)d item held back by the quality check: %(parts)s.",
            "%(count)d items held back by the quality check: %(parts)s.",
            total,
        )
    return sentence % {"count": total, "parts": parts}


class GatedProvider:
    """A provider whose every question and card has passed the gate (get_provider() hands out this)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name = inner.name
        self.chunk_chars = getattr(inner, "chunk_chars", 12_000)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the model's name and settings, for pages and tests

    def generate_questions(
        self, *, text: str, count: int, types: list[str], difficulty: str = "medium"
    ) -> GenerationResult:
        result: GenerationResult = self.inner.generate_questions(
            text=text, count=count, types=types, difficulty=difficulty
        )
        return questions_gated(result, text)

    def generate_cards(self, *, text: str, count: int) -> CardGenerationResult:
        return cards_gated(self.inner.generate_cards(text=text, count=count), text)

    def grade_answer(self, *, question: str, reference_answer: str, answer: str, max_score: float) -> GradeResult:
        # Grades are not generated items: the confidence threshold and a person guard them.
        return self.inner.grade_answer(
            question=question, reference_answer=reference_answer, answer=answer, max_score=max_score
        )
