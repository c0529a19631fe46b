"""The offline generator as it was before the quality gate (commit b8d8b01), kept as the baseline of
bench/generation.py so the before and after figures come from the same run. Not used by the tool."""

from __future__ import annotations

from lms_tool.ai.types import CardGenerationResult, GenerationResult, QuestionDraft, Rejected
from lms_tool.ai.validation import question_from_raw

from . import cards
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
