"""Free-text grading by normalised matching against the reference answer.

It cannot understand an answer, so it is sure only when there is nothing to understand: an empty
answer, or one that says the reference in the same words. Everything else gets a partial score with a
low confidence, which sends it to an instructor (docs/architecture.md, "AI providers": below the
threshold a person decides).
"""

from __future__ import annotations

import re
import unicodedata

from ..types import GradeResult
from .text import STOPWORDS

NEGATIONS = frozenset({"not", "no", "never", "none", "neither", "nor", "cannot", "without"})
SURE = 0.95


def normalise(text: str) -> list[str]:
    """Lower-case words without accents or punctuation, with a crude plural/tense ending stripped."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text)
    return [_stem(w) for w in words]


def _stem(word: str) -> str:
    for ending in ("ing", "ed", "es", "s"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def content(words: list[str]) -> set[str]:
    return {w for w in words if w not in STOPWORDS or w in NEGATIONS}


def grade(*, reference_answer: str, answer: str, max_score: float, model: str) -> GradeResult:
    said, expected = normalise(answer), normalise(reference_answer)
    if not content(said):
        return GradeResult(0.0, SURE, "No answer was given.", model)
    if said == expected:
        return GradeResult(max_score, SURE, "The answer states the reference answer.", model)
    got, want = content(said), content(expected)
    recall = len(got & want) / len(want) if want else 0.0
    if (got & NEGATIONS) != (want & NEGATIONS):
        return GradeResult(
            round(max_score * recall / 2, 2),
            0.2,
            "The answer and the reference differ in a negation; a person should read it.",
            model,
        )
    score = round(max_score * recall, 2)
    # Word overlap is weak evidence either way: never sure enough to skip a person.
    confidence = 0.3 + 0.4 * abs(recall - 0.5)
    missing = sorted(want - got)[:8]
    rationale = f"{round(recall * 100)}% of the reference answer's key words appear in the answer."
    if missing:
        rationale += " Missing: " + ", ".join(missing) + "."
    return GradeResult(score, round(confidence, 2), rationale, model)
