"""The provider a registration may use, metered and moderated (docs/ai-control.md).

``provider_for(control)`` wraps the configured provider so that, for every request:

* the registration's decision is asked first (``control.model_refusal()``: AI turned off, or this month's
  token budget used up); a refusal sends the request to the offline provider and keeps the reason as the
  ``notice`` an instructor is shown. Generation and grading carry on offline rather than stop: the
  institution chose to send nothing out or spend no more, not to stop teaching;
* the tokens the model server reported (its ``usage`` field) are added to the registration's month;
* what came back passes moderation (lms_tool/ai/moderation.py) before anyone sees it: an unsafe question or
  card becomes a ``Rejected`` with its reason, unsafe grading feedback is withheld and the grade waits for
  a person;
* ``provenance`` names the provider, model and prompt version that wrote the last result, for the
  domain apps to store on each item and grade (kept for appeals).

The registration's side (``Control``) is implemented by lms_tool/lti/ai_control.py; this module only
knows its shape, so the two apps of the same floor do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import get_provider, moderation, prompts
from .offline import OfflineProvider
from .quality import GatedProvider, cards_gated, questions_gated
from .types import CardGenerationResult, GenerationResult, GradeResult, Provider, QuestionDraft, Rejected

OFFLINE = "offline"
# The offline provider follows fixed rules, not a prompt: its "prompt version" is its rule set's name.
OFFLINE_RULES = "offline rules"


class Control(Protocol):
    """A registration's AI decision, as lms_tool/lti/ai_control.RegistrationAiControl provides it."""

    @property
    def registration_id(self) -> int: ...

    def model_refusal(self) -> str: ...

    def tokens_record(self, tokens: int) -> None: ...


@dataclass(frozen=True)
class Provenance:
    """Who wrote an item or a grade: stored with it and shown to the instructor."""

    provider: str
    model: str
    prompt_version: str

    def describe(self) -> str:
        if not self.model:
            return ""
        version = f", prompt {self.prompt_version}" if self.prompt_version else ""
        return f"{self.model} ({self.provider}{version})"


def provenance_of(provider: Any, model: str) -> Provenance:
    if getattr(provider, "name", OFFLINE) == OFFLINE:
        return Provenance(OFFLINE, model, OFFLINE_RULES)
    host = urlsplit(str(getattr(provider, "base_url", ""))).netloc
    return Provenance(f"openai-compatible {host}".strip()[:200], model[:200], prompts.VERSION)


class ControlledProvider:
    """A ``Provider`` that honours one registration's AI decision; see the module's docstring."""

    def __init__(self, control: Control | None, configured: Provider) -> None:
        self.control = control
        # The quality gate (docs/generation.md) runs here, after moderation, on whichever provider answered:
        # an unsafe item is held back as unsafe (its text never stored), and the offline fallback is gated too.
        self.gated = isinstance(configured, GatedProvider)
        base: Provider = configured.inner if isinstance(configured, GatedProvider) else configured
        # The configured provider is the model, unless it is the offline one already (no model configured).
        offline = getattr(base, "name", OFFLINE) == OFFLINE
        self.model_provider: Provider | None = None if offline else base
        self.offline: Provider = base if offline else OfflineProvider()
        self.notice = ""
        self.provenance = Provenance(OFFLINE, "", "")
        chosen = self._choose()
        self.name: str = chosen.name
        # Generation cuts its text by the provider chosen when the run starts (lms_tool/quizzes/services).
        self.chunk_chars: int = int(getattr(chosen, "chunk_chars", 12_000))

    def _choose(self) -> Provider:
        if self.model_provider is None:
            return self.offline
        refusal = self.control.model_refusal() if self.control is not None else ""
        if refusal:
            self.notice = refusal
            return self.offline
        return self.model_provider

    def _call(self, method: str, **kwargs: Any) -> tuple[Provider, Any]:
        provider = self._choose()
        before = int(getattr(provider, "tokens_used", 0))
        try:
            result = getattr(provider, method)(**kwargs)
        finally:
            spent = int(getattr(provider, "tokens_used", 0)) - before
            if spent > 0 and self.control is not None:
                self.control.tokens_record(spent)
        self.provenance = provenance_of(provider, result.model)
        return provider, result

    def _screen(self, provider: Provider, texts: list[str]) -> list[str]:
        """Moderation reasons per text; the provider's endpoint is asked only about the model's own output,
        so content written offline (AI off, or over budget) never leaves the tool."""
        client = getattr(provider, "client", None) if provider is self.model_provider else None
        return moderation.texts_check(texts, client=client, base_url=str(getattr(provider, "base_url", "")))

    def generate_questions(
        self, *, text: str, count: int, types: list[str], difficulty: str = "medium"
    ) -> GenerationResult:
        provider, result = self._call("generate_questions", text=text, count=count, types=types, difficulty=difficulty)
        reasons = self._screen(provider, [question_text(q) for q in result.items])
        kept = [q for q, reason in zip(result.items, reasons, strict=True) if not reason]
        held = [Rejected(f"a generated question was held back by moderation: {r}", None) for r in reasons if r]
        screened = replace(result, items=kept, rejected=[*result.rejected, *held])
        return questions_gated(screened, text) if self.gated else screened

    def generate_cards(self, *, text: str, count: int) -> CardGenerationResult:
        provider, result = self._call("generate_cards", text=text, count=count)
        reasons = self._screen(provider, [f"{c.front}\n{c.back}\n{' '.join(c.tags)}" for c in result.items])
        kept = [c for c, reason in zip(result.items, reasons, strict=True) if not reason]
        held = [Rejected(f"a generated card was held back by moderation: {r}", None) for r in reasons if r]
        screened = replace(result, items=kept, rejected=[*result.rejected, *held])
        return cards_gated(screened, text) if self.gated else screened

    def grade_answer(self, *, question: str, reference_answer: str, answer: str, max_score: float) -> GradeResult:
        provider, result = self._call(
            "grade_answer", question=question, reference_answer=reference_answer, answer=answer, max_score=max_score
        )
        reason = self._screen(provider, [result.rationale])[0] if result.rationale.strip() else ""
        if not reason:
            return result
        # Unsafe feedback never reaches a learner: no score stands on it, and a person grades the answer.
        return GradeResult(
            0.0,
            0.0,
            f"The AI's feedback was withheld: {reason}. Please grade this answer yourself.",
            result.model,
        )


def question_text(draft: QuestionDraft) -> str:
    """Everything of a generated question a learner may read (the quoted source passage is the instructor's)."""
    return "\n".join([draft.prompt, *draft.options, *draft.answers, draft.explanation])


def provider_for(control: Control | None, configured: Provider | None = None) -> ControlledProvider:
    """The provider for one registration's generation run or grading pass (a new one each time).

    ``configured`` is what the settings choose (``get_provider()``), passed by callers that keep their own
    seam for it."""
    return ControlledProvider(control, configured if configured is not None else get_provider())
