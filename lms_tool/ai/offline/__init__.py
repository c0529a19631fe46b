"""The offline provider: deterministic, no network, no model; honest items from the text itself."""

from __future__ import annotations

from ..injection import answer_clean, grade_screened
from ..types import CardGenerationResult, GenerationResult, GradeResult, QuestionDraft, Rejected
from ..validation import question_from_raw
from . import cards, grading
from .questions import BUILDERS, candidates, next_item
from .text import TextIndex

MODEL = "offline-v1"
KNOWN_TYPES = (*BUILDERS, "multiple")


class OfflineProvider:
    name = "offline"
    # The whole text at once, so distractors come from all of it; it is fast enough not to need chunks.
    chunk_chars = 200_000

    def generate_questions(
        self, *, text: str, count: int, types: list[str], difficulty: str = "medium"
    ) -> GenerationResult:
        prompt = f"{MODEL}: count={count} types={','.join(types)} difficulty={difficulty}"
        index = TextIndex(text)
        available = candidates(index, difficulty)
        items: list[QuestionDraft] = []
        rejected = [Rejected(f"question type {t!r} is not known", t) for t in types if t not in KNOWN_TYPES]
        pending = [t for t in types if t in KNOWN_TYPES]
        turn = 0
        while len(items) < count and pending:
            kind = pending[turn % len(pending)]
            raw = next_item(kind, index, available, difficulty)
            if raw is None:
                pending.remove(kind)
                rejected.append(Rejected(f"the text has no more material for a {kind!r} question", None))
                continue
            turn += 1
            draft = question_from_raw(raw, allowed_types=types, difficulty=difficulty)
            if isinstance(draft, QuestionDraft):
                items.append(draft)
            else:
                rejected.append(draft)
        return GenerationResult(items=items, rejected=rejected, model=MODEL, prompt=prompt)

    def generate_cards(self, *, text: str, count: int) -> CardGenerationResult:
        return cards.generate(text=text, count=count, model=MODEL)

    def grade_answer(self, *, question: str, reference_answer: str, answer: str, max_score: float) -> GradeResult:
        # Word matching reads the answer as the teacher sees it (no hidden characters), and an answer
        # written at the grader is left to a person (injection.grade_screened), as with a model.
        result = grading.grade(
            reference_answer=reference_answer, answer=answer_clean(answer), max_score=max_score, model=MODEL
        )
        return grade_screened(result, answer=answer, max_score=max_score)
