"""The hand-labelled flawed items (tests/data/flawed/items.json) and the corpus texts they come from."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from lms_tool.ai.types import QUESTION_TYPES, CardDraft, QuestionDraft
from lms_tool.ai.validation import card_from_raw, question_from_raw

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "corpus"


@cache
def corpus_text(name: str) -> str:
    """A corpus file's text as the tool reads an upload of it (Markdown stripped, a PDF's text layer)."""
    from lms_tool.quizzes.services.material import text_from_upload

    return text_from_upload(name=name, data=(CORPUS / name).read_bytes())


def flawed_entries() -> list[dict[str, Any]]:
    return json.loads((DATA / "flawed" / "items.json").read_text())


def question(raw: dict[str, Any]) -> QuestionDraft:
    draft = question_from_raw({"explanation": "", "source_passage": "", **raw}, allowed_types=list(QUESTION_TYPES))
    assert isinstance(draft, QuestionDraft), draft
    return draft


def card(raw: dict[str, Any]) -> CardDraft:
    draft = card_from_raw(raw)
    assert isinstance(draft, CardDraft), draft
    return draft
