"""AI providers behind one interface (docs/architecture.md, "AI providers").

``get_provider()`` gives the OpenAI-compatible provider when ``AI_BASE_URL`` and ``AI_MODEL`` are set,
and the offline deterministic provider otherwise (the default: no network, no model download).
"""

from __future__ import annotations

from django.conf import settings

from .types import (
    CardDraft,
    CardGenerationResult,
    GenerationResult,
    GradeResult,
    Provider,
    ProviderError,
    QuestionDraft,
    Rejected,
)

__all__ = [
    "CardDraft",
    "CardGenerationResult",
    "GenerationResult",
    "GradeResult",
    "Provider",
    "ProviderError",
    "QuestionDraft",
    "Rejected",
    "get_provider",
]


def get_provider() -> Provider:
    """The provider the settings choose, behind the quality gate (docs/generation.md): a new one per call,
    cheap, and settings may change in tests."""
    from .quality import GatedProvider

    return GatedProvider(provider_chosen())


def provider_chosen() -> Provider:
    """The provider the settings choose, without the gate (the gate's own tests and the bench compare)."""
    config = getattr(settings, "AI", {})
    if config.get("BASE_URL") and config.get("MODEL"):
        from .openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider(
            base_url=config["BASE_URL"],
            model=config["MODEL"],
            api_key=config.get("API_KEY", ""),
            timeout=float(config.get("TIMEOUT_SECONDS", 60)),
            max_retries=int(config.get("MAX_RETRIES", 2)),
            response_format=config.get("RESPONSE_FORMAT", "json_schema"),
        )
    from .offline import OfflineProvider

    return OfflineProvider()
