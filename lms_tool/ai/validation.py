"""Turn a model's answer into sound drafts: repair what is unambiguous, drop the rest with a reason.

Nothing half-valid leaves this module: a question either has a question, distinct non-empty options
and an answer that points at one of them (or a usable number / text), or it is rejected.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import jsonschema

from . import schema
from .types import CHOICE_TYPES, CardDraft, QuestionDraft, Rejected

TYPE_ALIASES = {
    "mcq": "single",
    "multiple_choice": "single",
    "single_choice": "single",
    "choice": "single",
    "multiple_answer": "multiple",
    "multiple_response": "multiple",
    "multi": "multiple",
    "truefalse": "true_false",
    "true/false": "true_false",
    "tf": "true_false",
    "boolean": "true_false",
    "number": "numeric",
    "cloze": "short",
    "fill_in_the_blank": "short",
    "short_answer": "short",
    "essay": "free_text",
    "open": "free_text",
    "free": "free_text",
}
KEY_ALIASES = {"prompt": "question", "text": "question", "choices": "options", "source": "source_passage"}
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
MAX_TEXT = 4000


# Built once: ``jsonschema.validate`` would check the schema itself on every call (80% of the time).
_VALIDATORS = {
    kind: jsonschema.Draft202012Validator({**schema.QUESTION_ITEM, "allOf": [extra]})
    for kind, extra in schema.REQUIRED_BY_TYPE.items()
}
CARD_VALIDATOR = jsonschema.Draft202012Validator(schema.CARD_ITEM)
GRADE_VALIDATOR = jsonschema.Draft202012Validator(schema.GRADE)


def first_error(validator: jsonschema.Draft202012Validator, instance: Any) -> str | None:
    """The first schema violation as "where: what", or None."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    return f"{'/'.join(str(p) for p in error.absolute_path) or 'item'}: {error.message}"


class OutputError(ValueError):
    """The whole answer is unusable (not JSON, wrong shape)."""


def parse_object(content: str | None) -> Any:
    """The model's answer as JSON; strips Markdown code fences and text around the object first."""
    if not content or not content.strip():
        raise OutputError("the model returned an empty answer")
    text = _FENCE.sub("", content.strip())
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                pass
    raise OutputError(f"the model's answer is not valid JSON: {text[:80]!r}")


def parse_json(content: str | None, *, key: str) -> list[Any]:
    """The list under ``key`` in the model's JSON answer (a bare list is accepted too)."""
    data = parse_object(content)
    if isinstance(data, list):
        return data
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise OutputError(f"the model's answer has no {key!r} list")
    return data[key]


def _clean(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()[:MAX_TEXT] if value is not None else ""


def _coerce(item: dict[str, Any], repairs: list[str]) -> dict[str, Any]:
    """Fix slips whose meaning is not in doubt (aliases, letters for indices, "true" for true)."""
    item = {KEY_ALIASES.get(k, k): v for k, v in item.items()}
    kind = _clean(item.get("type")).lower().replace(" ", "_").replace("-", "_")
    if kind in TYPE_ALIASES:
        repairs.append(f"type {kind!r} read as {TYPE_ALIASES[kind]!r}")
        kind = TYPE_ALIASES[kind]
    item["type"] = kind
    options = item.get("options")
    index = item.get("answer_index")
    if isinstance(index, str) and isinstance(options, list):
        item["answer_index"] = _index_of(index, options, repairs)
    if kind == "true_false" and isinstance(item.get("answer"), str):
        word = item["answer"].strip().lower()
        if word in {"true", "false"}:
            item["answer"] = word == "true"
    if kind == "numeric" and isinstance(item.get("answer"), str):
        try:
            item["answer"] = float(item["answer"].replace(",", "").strip())
            repairs.append("numeric answer given as text")
        except ValueError:
            pass
    return item


def _index_of(value: str, options: list[Any], repairs: list[str]) -> Any:
    value = value.strip()
    if value.isdigit():
        repairs.append("answer index given as text")
        return int(value)
    if len(value) == 1 and value.upper() in "ABCDEFGH":
        repairs.append(f"answer letter {value!r} read as an index")
        return "ABCDEFGH".index(value.upper())
    texts = [_clean(o).lower() for o in options]
    if value.lower() in texts:
        repairs.append("answer given as the option's text")
        return texts.index(value.lower())
    return value


def _options(item: dict[str, Any], correct: list[int]) -> tuple[list[str], list[int], str | None, list[str]]:
    """Strip, drop empty and duplicate options, remapping the correct indices; or say why it cannot be done."""
    raw = [_clean(o) for o in item["options"]]
    notes: list[str] = []
    for index in correct:
        if not 0 <= index < len(raw):
            return [], [], f"answer index {index} is out of range ({len(raw)} options)", notes
        if not raw[index]:
            return [], [], "the correct option is empty", notes
    options: list[str] = []
    mapping: dict[int, int] = {}  # old index -> new index
    first: dict[str, int] = {}  # casefolded text -> old index of its first occurrence
    for old, text in enumerate(raw):
        if not text:
            notes.append("empty option dropped")
            continue
        key = text.casefold()
        if key in first:
            if (old in correct) != (first[key] in correct):
                return [], [], f"the option {text!r} appears twice, once as right and once as wrong", notes
            notes.append(f"duplicate option {text!r} dropped")
            mapping[old] = mapping[first[key]]
            continue
        first[key] = old
        mapping[old] = len(options)
        options.append(text)
    new_correct = sorted({mapping[i] for i in correct})
    if len(options) < 2:
        return [], [], "fewer than two distinct options", notes
    if len(new_correct) >= len(options):
        return [], [], "every option is marked correct", notes
    return options, new_correct, None, notes


def question_from_raw(raw: Any, *, allowed_types: list[str], difficulty: str = "medium") -> QuestionDraft | Rejected:
    """One item of the model's answer as a sound ``QuestionDraft``, or a ``Rejected`` saying why not."""
    if not isinstance(raw, dict):
        return Rejected("the item is not a JSON object", raw)
    repairs: list[str] = []
    item = _coerce(raw, repairs)
    kind = item["type"]
    if kind not in schema.REQUIRED_BY_TYPE:
        return Rejected(f"unknown question type {kind!r}", raw)
    if kind not in allowed_types:
        return Rejected(f"question type {kind!r} was not asked for", raw)
    if not _clean(item.get("question")):
        return Rejected("the question has no text", raw)
    missing = _missing_answer(kind, item)
    if missing:
        return Rejected(missing, raw)
    problem = first_error(_VALIDATORS[kind], item)
    if problem:
        return Rejected(problem, raw)
    draft = QuestionDraft(
        type=kind,
        prompt=_clean(item["question"]),
        explanation=_clean(item.get("explanation")),
        source_passage=_clean(item.get("source_passage")),
        difficulty=difficulty,
        repairs=repairs,
    )
    problem = _fill_answer(draft, item)
    return Rejected(problem, raw) if problem else draft


def _missing_answer(kind: str, item: dict[str, Any]) -> str | None:
    if kind == "single" and item.get("answer_index") is None:
        return "the question has no answer (answer_index missing)"
    if kind == "multiple" and not item.get("answer_indices"):
        return "the question has no answer (answer_indices missing or empty)"
    if kind not in CHOICE_TYPES[:2] and (item.get("answer") is None or _clean(item.get("answer")) == ""):
        return "the question has no answer"
    return None


def _fill_answer(draft: QuestionDraft, item: dict[str, Any]) -> str | None:
    kind = draft.type
    if kind in ("single", "multiple"):
        correct = [item["answer_index"]] if kind == "single" else list(item["answer_indices"])
        options, correct, problem, notes = _options(item, correct)
        if problem:
            return problem
        draft.options, draft.correct = options, correct
        draft.repairs.extend(notes)
    elif kind == "true_false":
        draft.options, draft.correct = ["True", "False"], [0 if item["answer"] else 1]
    elif kind == "numeric":
        value = float(item["answer"])
        tolerance = float(item.get("tolerance") or 0)
        if not math.isfinite(value) or not math.isfinite(tolerance) or tolerance < 0:
            return "the numeric answer or tolerance is not a usable number"
        draft.numeric_answer, draft.tolerance = value, tolerance
    else:
        draft.answers = [_clean(item["answer"])]
    return None


def card_from_raw(raw: Any) -> CardDraft | Rejected:
    if not isinstance(raw, dict):
        return Rejected("the item is not a JSON object", raw)
    problem = first_error(CARD_VALIDATOR, raw)
    if problem:
        return Rejected(problem, raw)
    front, back = _clean(raw["front"]), _clean(raw["back"])
    if not front or not back:
        return Rejected("the card has an empty side", raw)
    if front.casefold() == back.casefold():
        return Rejected("the card's front and back are the same", raw)
    tags = [_clean(t)[:50] for t in raw.get("tags") or [] if _clean(t)]
    return CardDraft(front=front, back=back, source_passage=_clean(raw.get("source_passage")), tags=tags)
