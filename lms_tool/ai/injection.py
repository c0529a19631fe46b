"""A learner's answer is data to grade, never instructions to the grader (docs/architecture.md, "AI providers").

Three layers, each enough on its own for the cases the tests commit to (tests/ai/test_injection.py):

1. ``answer_clean`` removes what a teacher cannot see but a model reads: zero-width and bidi controls,
   Unicode tag characters (which spell ASCII invisibly) and variation selectors; then NFKC folds
   look-alikes (a full-width less-than sign is ``<``) so the delimiter check below sees them.
2. ``answer_delimited`` wraps the cleaned answer in ``<student_answer>`` tags after escaping anything in
   it that could open or close them, so nothing the learner writes ends up outside the tags.
3. ``instruction_signs`` names instruction-like text in the answer (addressed to a grader, fake rubric
   or prompt lines, role labels, hidden characters). The quizzes app then sends that answer to a person
   whatever the model said, with no provisional points: a model that obeyed would otherwise win.
"""

from __future__ import annotations

import re
import unicodedata

from .types import GradeResult

OPEN, CLOSE = "<student_answer>", "</student_answer>"

# Invisible or reordering code points: all "format" (Cf) characters -- zero-width space/joiners, bidi
# embeddings, overrides and isolates, the BOM, soft hyphen, tag characters U+E0000..E007F -- plus
# variation selectors (Mn, used to smuggle bytes) and control characters other than tab and newline.
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def _hidden(char: str) -> bool:
    category = unicodedata.category(char)
    return category == "Cf" or (category == "Cc" and char not in "\n\t") or bool(_VARIATION.match(char))


# Of those, the ones with no business in an answer: tag characters (invisible ASCII), bidi embeddings,
# overrides and isolates (text shown to the teacher in another order than the model reads it) and the
# supplementary variation selectors (bytes smuggled after a character). Zero-width joiners and the
# emoji selector U+FE0F occur in ordinary Persian, Indic and emoji text, so they are removed, not flagged.
_SUSPICIOUS = re.compile("[\U000e0000-\U000e007f\u202a-\u202e\u2066-\u2069\U000e0100-\U000e01ef]")


def hidden_characters(text: str) -> int:
    """How many characters of the kinds a learner has no reason to type the text has."""
    return len(_SUSPICIOUS.findall(text))


def answer_clean(text: str) -> str:
    """The answer as a teacher sees it: no invisible characters, look-alikes folded (NFKC)."""
    visible = "".join(char for char in str(text) if not _hidden(char)).replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFKC", visible)


# ``<student_answer``, ``</ student_answer`` and the like, in any case: the delimiters, escaped inside.
_TAG = re.compile(r"<(\s*/?\s*student[\s_-]*answer)", re.IGNORECASE)


def answer_delimited(text: str) -> str:
    """The cleaned answer between the delimiters, with any delimiter-like text in it made harmless."""
    escaped = _TAG.sub(r"&lt;\1", answer_clean(text))
    return f"{OPEN}\n{escaped}\n{CLOSE}"


# What a learner's answer has no reason to say. Kept narrow: a hit costs the learner nothing but a wait
# for a person, yet every false hit is work for the teacher.
_SIGNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "asks to ignore or override the instructions",
        re.compile(
            r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(instructions?|rubric|rules?|prompt|"
            r"reference|above|previous|prior|grader|grading)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "asks for a score",
        re.compile(
            r"\b(give|award|assign|grant|score|mark|rate)\b[^.\n]{0,40}\b(full|maximum|max|top|perfect|100\s*%|"
            r"all( the)?)\s*(marks?|points?|score|credit)\b|\bfull\s+(marks|points|credit)\b|"
            r"\bconfidence\b[^.\n]{0,20}\b(1(\.0+)?|100\s*%)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "contains a role or prompt line",
        re.compile(
            r"(^|\n)\s*[#>*\[(]*\s*(system|assistant|developer|user|instructions?|grader|teacher|rubric|"
            r"reference answer|maximum score|score|confidence|rationale|note to (the )?(grader|ai|model))\s*[\]):]",
            re.IGNORECASE,
        ),
    ),
    (
        "addresses the grader",
        re.compile(
            r"\b(you are|you're|act as|pretend to be|as an?)\b[^.\n]{0,30}\b(ai|model|assistant|grader|"
            r"language model|chatgpt|llm)\b|\b(dear|hey|hi)\s+(ai|grader|model|assistant)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "contains chat-template or delimiter markup",
        re.compile(r"<\|?\s*/?\s*(im_start|im_end|system|student[\s_-]*answer)|\[/?INST\]|<<<|>>>", re.IGNORECASE),
    ),
    (
        "contains a grade as JSON",
        re.compile(r"[{,]\s*\"?(score|confidence)\"?\s*:", re.IGNORECASE),
    ),
]


def instruction_signs(text: str) -> list[str]:
    """Why this answer looks addressed to the grader rather than to the question; empty if it does not."""
    raw = str(text or "")
    signs = ["contains hidden characters"] if hidden_characters(raw) else []
    cleaned = answer_clean(raw)
    signs += [reason for reason, pattern in _SIGNS if pattern.search(cleaned)]
    return signs


def grade_screened(result: GradeResult, *, answer: str, max_score: float) -> GradeResult:
    """The provider's grade, or, for an answer with instruction-like text, none: 0 points, confidence 0.

    Whatever the model made of such an answer may be what the answer told it to say, so neither its
    score nor its confidence is kept; its suggestion goes into the rationale for the teacher."""
    signs = instruction_signs(answer)
    if not signs:
        return result
    rationale = (
        f"The answer {'; '.join(signs)}, so it may be trying to steer the grader: a person must grade it. "
        f"The grader suggested {result.score:g} of {max_score:g}: {result.rationale}"
    )
    return GradeResult(0.0, 0.0, rationale[:2000], result.model)
