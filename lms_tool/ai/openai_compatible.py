"""The OpenAI-compatible provider: chat completions through the ``openai`` client library.

Works with OpenAI, Azure OpenAI, vLLM, Ollama and llama.cpp servers (``AI_BASE_URL``). The answer is
asked for as JSON against a schema (``response_format``; ``AI_RESPONSE_FORMAT=json_object`` or ``none``
for servers without structured output) and validated here again, item by item, since no server's
promise is taken on trust. Timeouts and retries (with backoff, on 408/429/5xx and network errors) are
the client library's; this is the one place in the tool that talks to a model, as core/http.py is for
everything else.
"""

from __future__ import annotations

import logging
from typing import Any

import openai

from . import prompts, schema
from .injection import answer_delimited, grade_screened
from .types import (
    CardDraft,
    CardGenerationResult,
    GenerationResult,
    GradeResult,
    ProviderError,
    QuestionDraft,
    Rejected,
)
from .validation import (
    GRADE_VALIDATOR,
    OutputError,
    card_from_raw,
    first_error,
    parse_json,
    parse_object,
    question_from_raw,
)

logger = logging.getLogger(__name__)


class OpenAICompatibleProvider:
    name = "openai"
    # Text per request: long course material is sent in parts, which also gives generation its progress.
    chunk_chars = 12_000

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        max_retries: int = 2,
        response_format: str = "json_schema",
        temperature: float = 0.2,
    ):
        self.model = model
        self.base_url = base_url
        # Tokens the server reported in its ``usage`` field, summed over this provider's requests: the
        # per-registration monthly budget counts them (lms_tool/ai/policy.py, docs/ai-control.md).
        self.tokens_used = 0
        self.response_format = response_format
        self.temperature = temperature
        # Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "no-key", timeout=timeout, max_retries=max_retries
        )

    def _format(self, name: str, json_schema: dict[str, Any]) -> dict[str, Any] | None:
        if self.response_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema, "strict": False}}
        if self.response_format == "json_object":
            return {"type": "json_object"}
        return None

    def _chat(self, system: str, user: str, name: str, json_schema: dict[str, Any]) -> str:
        kwargs: dict[str, Any] = {}
        response_format = self._format(name, json_schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                temperature=self.temperature,
                **kwargs,
            )
        except openai.APITimeoutError as exc:
            raise ProviderError(f"the model server did not answer in time ({exc})") from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"the model server could not be reached ({exc})") from exc
        except openai.APIStatusError as exc:
            raise ProviderError(f"the model server refused the request: HTTP {exc.status_code}") from exc
        except openai.APIResponseValidationError as exc:
            raise ProviderError(f"the model server's answer is not a chat completion ({exc})") from exc
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.tokens_used += int(getattr(usage, "total_tokens", 0) or 0)
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    def generate_questions(
        self, *, text: str, count: int, types: list[str], difficulty: str = "medium"
    ) -> GenerationResult:
        user = prompts.QUESTIONS_USER.format(count=count, difficulty=difficulty, types=", ".join(types), text=text)
        content = self._chat(prompts.QUESTIONS_SYSTEM, user, "quiz_questions", schema.QUESTIONS)
        recorded = prompts.recorded(prompts.QUESTIONS_SYSTEM + "\n\n" + user, text)
        try:
            raw_items = parse_json(content, key="questions")
        except OutputError as exc:
            return GenerationResult(
                items=[], rejected=[Rejected(str(exc), content[:2000])], model=self.model, prompt=recorded
            )
        items: list[QuestionDraft] = []
        rejected: list[Rejected] = []
        for raw in raw_items:
            draft = question_from_raw(raw, allowed_types=types, difficulty=difficulty)
            if isinstance(draft, Rejected):
                rejected.append(draft)
            elif len(items) >= count:
                rejected.append(Rejected(f"more questions than the {count} asked for", raw))
            else:
                items.append(draft)
        return GenerationResult(items=items, rejected=rejected, model=self.model, prompt=recorded)

    def generate_cards(self, *, text: str, count: int) -> CardGenerationResult:
        user = prompts.CARDS_USER.format(count=count, text=text)
        content = self._chat(prompts.CARDS_SYSTEM, user, "flashcards", schema.CARDS)
        recorded = prompts.recorded(prompts.CARDS_SYSTEM + "\n\n" + user, text)
        try:
            raw_items = parse_json(content, key="cards")
        except OutputError as exc:
            return CardGenerationResult(
                items=[], rejected=[Rejected(str(exc), content[:2000])], model=self.model, prompt=recorded
            )
        items: list[CardDraft] = []
        rejected: list[Rejected] = []
        for raw in raw_items:
            card = card_from_raw(raw)
            if isinstance(card, CardDraft) and len(items) < count:
                items.append(card)
            else:
                rejected.append(card if isinstance(card, Rejected) else Rejected("more cards than asked for", raw))
        return CardGenerationResult(items=items, rejected=rejected, model=self.model, prompt=recorded)

    def grade_answer(self, *, question: str, reference_answer: str, answer: str, max_score: float) -> GradeResult:
        user = prompts.GRADE_USER.format(
            question=question, reference=reference_answer, max_score=max_score, answer=answer_delimited(answer)
        )
        content = self._chat(prompts.GRADE_SYSTEM, user, "grade", schema.GRADE)
        try:
            data = parse_object(content)
            reason = first_error(GRADE_VALIDATOR, data)
        except OutputError as exc:
            reason = str(exc)
        if reason:
            logger.warning("unusable grade from %s: %s", self.model, reason)
            # Not a grade: zero with no confidence, so a person grades it.
            return GradeResult(
                0.0, 0.0, f"The model's grade could not be used ({reason}); please grade this answer.", self.model
            )
        score, confidence = float(data["score"]), float(data["confidence"])
        rationale = str(data["rationale"]).strip()[:2000]
        if not 0 <= score <= max_score:
            rationale = f"The model gave {score}, outside 0..{max_score}; clamped. " + rationale
            score, confidence = min(max(score, 0.0), max_score), 0.0
        return grade_screened(GradeResult(score, confidence, rationale, self.model), answer=answer, max_score=max_score)
