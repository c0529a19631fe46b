"""The offline provider: deterministic, no network, no model; honest items from the text itself.

It writes more candidates than asked and offers only those the quality gate (lms_tool/ai/quality.py)
passes, the same gate model output goes through; what it held back is reported with the reason.
"""

from __future__ import annotations

from ..injection import answer_clean, grade_screened
from ..quality import Gate
from ..tables import Table
from ..types import CardGenerationResult, GenerationResult, GradeResult, QuestionDraft, Rejected
from ..validation import question_from_raw
from . import cards, grading
from .questions import BUILDERS, TABLE_KINDS, Item, candidates, next_item, table_cells, table_item
from .text import Sentence, Term, TextIndex

MODEL = "offline-v1"  # the name items and grades record; the gate is named in the run's prompt
GATED = "quality-gate-v1"
KNOWN_TYPES = (*BUILDERS, "multiple")
# Candidates tried per item asked: enough to replace what the gate holds back, bounded for short texts.
TRIES_PER_ITEM = 4


class OfflineProvider:
    name = "offline"
    # The whole text at once, so distractors come from all of it; it is fast enough not to need chunks.
    chunk_chars = 200_000

    def generate_questions(
        self, *, text: str, count: int, types: list[str], difficulty: str = "medium"
    ) -> GenerationResult:
        prompt = f"{MODEL} {GATED}: count={count} types={','.join(types)} difficulty={difficulty}"
        index = TextIndex(text)
        gate = Gate.of(text)
        available = candidates(index, difficulty)
        cells = table_cells(index)
        items: list[QuestionDraft] = []
        rejected = [Rejected(f"question type {t!r} is not known", t) for t in types if t not in KNOWN_TYPES]
        pending = [t for t in types if t in KNOWN_TYPES]
        turn = tries = 0
        while len(items) < count and pending and tries < count * TRIES_PER_ITEM:
            kind = pending[turn % len(pending)]
            raw = self._next(kind, index, gate, available, cells, difficulty, prefer_table=turn % 3 == 2)
            if raw is None:
                pending.remove(kind)
                rejected.append(Rejected(f"the text has no more material for a {kind!r} question", None))
                continue
            tries += 1
            draft = question_from_raw(raw, allowed_types=types, difficulty=difficulty)
            if not isinstance(draft, QuestionDraft):
                rejected.append(draft)
                continue
            refusal = gate.question(draft)
            if refusal is not None:
                rejected.append(refusal.rejected(raw))
                continue
            items.append(draft)
            turn += 1
        return GenerationResult(items=items, rejected=rejected, model=MODEL, prompt=prompt)

    @staticmethod
    def _next(
        kind: str,
        index: TextIndex,
        gate: Gate,
        available: list[tuple[Sentence, Term]],
        cells: list[tuple[Table, int, int]],
        difficulty: str,
        *,
        prefer_table: bool,
    ) -> Item | None:
        """A table cell's question for every third item (and whenever the prose has run out), else prose."""
        from_prose = None if prefer_table and cells and kind in TABLE_KINDS else "prose"
        if from_prose:
            item = next_item(kind, index, gate.source, available, difficulty)
            if item is not None:
                return item
        while cells and kind in TABLE_KINDS:
            table, row, column = cells.pop(0)
            item = table_item(kind, table, row, column, difficulty)
            if item is not None:
                return item
        return None if from_prose else next_item(kind, index, gate.source, available, difficulty)

    def generate_cards(self, *, text: str, count: int) -> CardGenerationResult:
        return cards.generate(text=text, count=count, model=MODEL)

    def grade_answer(self, *, question: str, reference_answer: str, answer: str, max_score: float) -> GradeResult:
        # Word matching reads the answer as the teacher sees it (no hidden characters), and an answer
        # written at the grader is left to a person (injection.grade_screened), as with a model.
        result = grading.grade(
            reference_answer=reference_answer, answer=answer_clean(answer), max_score=max_score, model=MODEL
        )
        return grade_screened(result, answer=answer, max_score=max_score)
