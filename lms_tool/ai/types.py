"""What every AI provider returns (docs/architecture.md, "AI providers"): drafts to be reviewed, never final rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Question types the quizzes app stores; "short" covers cloze items (a blank to fill in).
QUESTION_TYPES = ("single", "multiple", "true_false", "numeric", "short", "free_text")
CHOICE_TYPES = ("single", "multiple", "true_false")
DIFFICULTIES = ("easy", "medium", "hard")


@dataclass
class QuestionDraft:
    """One generated question, already validated: every field a stored question needs is sound."""

    type: str
    prompt: str
    options: list[str] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)  # indices into options (choice types)
    answers: list[str] = field(default_factory=list)  # accepted answers (short) or the reference (free_text)
    numeric_answer: float | None = None
    tolerance: float = 0.0
    explanation: str = ""
    source_passage: str = ""
    difficulty: str = "medium"
    repairs: list[str] = field(default_factory=list)  # what was fixed in the model's answer, if anything


@dataclass
class Rejected:
    """An item of the model's answer that could not be used, and why."""

    reason: str
    raw: Any = None
    check: str = ""  # the quality check that held it back (lms_tool/ai/quality.py CHECK_LABELS), if any


@dataclass
class GenerationResult:
    items: list[QuestionDraft]
    rejected: list[Rejected]
    model: str
    prompt: str


@dataclass
class CardDraft:
    front: str
    back: str
    source_passage: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class CardGenerationResult:
    items: list[CardDraft]
    rejected: list[Rejected]
    model: str
    prompt: str


@dataclass
class GradeResult:
    score: float
    confidence: float  # 0..1: how sure the grader is; below the quiz threshold a person decides
    rationale: str
    model: str


class Provider(Protocol):
    name: str

    def generate_questions(
        self, *, text: str, count: int, types: list[str], difficulty: str = "medium"
    ) -> GenerationResult: ...

    def generate_cards(self, *, text: str, count: int) -> CardGenerationResult: ...

    def grade_answer(self, *, question: str, reference_answer: str, answer: str, max_score: float) -> GradeResult: ...


class ProviderError(Exception):
    """The provider could not answer at all (network down, timeout after retries, refused)."""
