"""Grading: objective questions exactly, free text by the AI provider with a confidence."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from lms_tool.ai import GradeResult, Provider

from ..models import Question

_ARTICLES = re.compile(r"^(the|a|an) ")


def normalise_short(text: str) -> str:
    """Case, accents, punctuation, spacing and a leading article do not matter in a short answer."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"[^\w\s.-]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    return _ARTICLES.sub("", text)


def grade_objective(question: Question, response: Any) -> float:
    """Points earned for an objective answer: all or nothing, exact."""
    if response is None or response == "" or response == []:
        return 0.0
    kind = question.type
    if kind in (Question.Type.SINGLE, Question.Type.TRUE_FALSE, Question.Type.MULTIPLE):
        right = sorted(response) == sorted(question.correct) if isinstance(response, list) else False
    elif kind == Question.Type.NUMERIC:
        right = (
            isinstance(response, int | float)
            and question.numeric_answer is not None
            and math.isfinite(response)
            and abs(response - question.numeric_answer) <= question.tolerance + 1e-9 * max(1, abs(response))
        )
    elif kind == Question.Type.SHORT:
        given = normalise_short(response)
        right = bool(given) and given in {normalise_short(a) for a in question.answers}
    else:
        raise ValueError(f"{kind} is not an objective question type")
    return question.points if right else 0.0


@dataclass
class FreeTextGrade:
    score: float
    confidence: float
    rationale: str
    model: str
    # Who graded (docs/ai-control.md): stored on the answer with the model, kept for appeals.
    ai_provider: str = ""
    prompt_version: str = ""


def grade_free_text(provider: Provider, question: Question, text: str) -> FreeTextGrade:
    """The provider's grade, clamped. Providers pass the learner's text as delimited data and give an answer
    written at the grader 0 points and confidence 0 (lms_tool/ai/injection.py), so it waits for a person."""
    if not str(text or "").strip():
        return FreeTextGrade(0.0, 1.0, "No answer was given.", "")
    result: GradeResult = provider.grade_answer(
        question=question.prompt,
        reference_answer=question.reference_answer,
        answer=str(text),
        max_score=question.points,
    )
    score = result.score if math.isfinite(result.score) else 0.0
    confidence = result.confidence if math.isfinite(result.confidence) else 0.0
    return FreeTextGrade(
        score=min(max(score, 0.0), question.points),
        confidence=min(max(confidence, 0.0), 1.0),
        rationale=result.rationale,
        model=result.model,
        ai_provider=getattr(getattr(provider, "provenance", None), "provider", ""),
        prompt_version=getattr(getattr(provider, "provenance", None), "prompt_version", ""),
    )
