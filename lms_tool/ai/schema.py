"""The JSON the model is asked for, as JSON Schema: sent as ``response_format`` and checked on the way back."""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string"}

QUESTION_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["single", "multiple", "true_false", "numeric", "short", "free_text"]},
        "question": _TEXT,
        "options": {"type": "array", "items": _TEXT},
        # single: the index of the one correct option; multiple: answer_indices.
        "answer_index": {"type": ["integer", "null"]},
        "answer_indices": {"type": "array", "items": {"type": "integer"}},
        # true_false: true/false; numeric: the number; short: the expected words; free_text: a model answer.
        "answer": {"type": ["string", "number", "boolean", "null"]},
        "tolerance": {"type": ["number", "null"]},
        "explanation": _TEXT,
        "source_passage": _TEXT,
    },
    "required": ["type", "question", "explanation", "source_passage"],
}

QUESTIONS: dict[str, Any] = {
    "type": "object",
    "properties": {"questions": {"type": "array", "items": QUESTION_ITEM}},
    "required": ["questions"],
}

# What each type needs beyond the common fields, checked item by item after light repairs.
REQUIRED_BY_TYPE: dict[str, dict[str, Any]] = {
    "single": {
        "properties": {"options": {"minItems": 2}, "answer_index": {"type": "integer"}},
        "required": ["options", "answer_index"],
    },
    "multiple": {
        "properties": {"options": {"minItems": 2}, "answer_indices": {"minItems": 1}},
        "required": ["options", "answer_indices"],
    },
    "true_false": {"properties": {"answer": {"type": "boolean"}}, "required": ["answer"]},
    "numeric": {"properties": {"answer": {"type": "number"}}, "required": ["answer"]},
    "short": {"properties": {"answer": {"type": "string", "minLength": 1}}, "required": ["answer"]},
    "free_text": {"properties": {"answer": {"type": "string", "minLength": 1}}, "required": ["answer"]},
}

CARD_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "front": {"type": "string", "minLength": 1},
        "back": {"type": "string", "minLength": 1},
        "source_passage": _TEXT,
        "tags": {"type": "array", "items": _TEXT},
    },
    "required": ["front", "back"],
}

CARDS: dict[str, Any] = {
    "type": "object",
    "properties": {"cards": {"type": "array", "items": CARD_ITEM}},
    "required": ["cards"],
}

GRADE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "rationale": {"type": "string"},
    },
    "required": ["score", "confidence", "rationale"],
}
