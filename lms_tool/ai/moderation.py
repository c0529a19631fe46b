"""Moderation of generated content: an offline word list always, the provider's endpoint where it has one.

Questions, cards and AI feedback pass through ``texts_check`` before they are stored (docs/ai-control.md,
"Moderation"). The word list (``data/unsafe_terms.txt``) runs for every provider, the offline one included.
The provider's OpenAI-compatible ``POST {AI_BASE_URL}/moderations`` runs only when the registration lets
content leave the tool; a server without that endpoint (404/405: vLLM, Ollama, llama.cpp) is remembered for
an hour and checked by the word list alone. Any other failure of the endpoint refuses the content
("fail closed"): an unchecked item is never offered.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import openai
from django.conf import settings

logger = logging.getLogger(__name__)

TERMS_FILE = Path(__file__).resolve().parent / "data" / "unsafe_terms.txt"
NO_ENDPOINT_SECONDS = 3600
_SWAPS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s"})
_no_endpoint: dict[str, float] = {}
_lock = threading.Lock()


def text_normal(text: str) -> str:
    """Lower case, no accents, common character swaps undone, every run of non-letters one space."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().casefold()
    text = text.translate(_SWAPS)
    return " " + re.sub(r"[^a-z]+", " ", text).strip() + " "


@lru_cache(maxsize=4)
def terms_load(path: str) -> tuple[tuple[str, str], ...]:
    """(category, normalised term) pairs of a word-list file."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        category, term = (part.strip() for part in line.split(":", 1))
        normal = text_normal(term)
        if normal.strip():
            entries.append((category, normal))
    return tuple(entries)


def terms() -> tuple[tuple[str, str], ...]:
    return terms_load(str(getattr(settings, "AI_MODERATION_TERMS_FILE", "") or TERMS_FILE))


def word_list_check(text: str) -> str:
    """The word list's reason to refuse ``text`` (its category, never the word itself), or ""."""
    normal = text_normal(text)
    for category, term in terms():
        if term in normal:
            return f"it contains {category} language (the tool's word list)"
    return ""


def texts_check(texts: list[str], *, client: Any = None, base_url: str = "") -> list[str]:
    """A reason to refuse each text ("" when it passes): the word list, then the provider's moderation.

    ``client`` is the OpenAI client of a provider the registration allows; None checks the word list only."""
    reasons = [word_list_check(t) for t in texts]
    pending = [i for i, reason in enumerate(reasons) if not reason and str(texts[i]).strip()]
    if client is None or not pending or not _endpoint_used(base_url):
        return reasons
    flagged = _provider_check([texts[i] for i in pending], client=client, base_url=base_url)
    for i, reason in zip(pending, flagged, strict=True):
        reasons[i] = reason
    return reasons


def _endpoint_used(base_url: str) -> bool:
    if str(getattr(settings, "AI", {}).get("MODERATION", "auto")).lower() == "off":
        return False
    with _lock:
        since = _no_endpoint.get(base_url)
        return since is None or time.monotonic() - since > NO_ENDPOINT_SECONDS


def _provider_check(texts: list[str], *, client: Any, base_url: str) -> list[str]:
    config = getattr(settings, "AI", {})
    kwargs: dict[str, Any] = {"input": texts}
    if config.get("MODERATION_MODEL"):
        kwargs["model"] = config["MODERATION_MODEL"]
    try:
        response = client.moderations.create(**kwargs)
    except openai.NotFoundError:
        return _endpoint_missing(texts, base_url)
    except openai.APIStatusError as exc:
        if exc.status_code == 405:
            return _endpoint_missing(texts, base_url)
        logger.warning("moderation at %s refused the request: HTTP %s", base_url, exc.status_code)
        return [f"the moderation service refused to check it (HTTP {exc.status_code}); try again later"] * len(texts)
    except (openai.APIConnectionError, openai.APIResponseValidationError) as exc:
        logger.warning("moderation at %s could not be reached: %s", base_url, exc)
        return ["the moderation service could not be reached to check it; try again later"] * len(texts)
    results = list(getattr(response, "results", None) or [])
    if len(results) != len(texts):
        logger.warning("moderation at %s answered %s results for %s texts", base_url, len(results), len(texts))
        return ["the moderation service's answer could not be read; try again later"] * len(texts)
    return [_reason(result) for result in results]


def _endpoint_missing(texts: list[str], base_url: str) -> list[str]:
    with _lock:
        if base_url not in _no_endpoint:
            logger.info("%s has no moderation endpoint: generated content is checked by the word list only", base_url)
        _no_endpoint[base_url] = time.monotonic()
    return [""] * len(texts)


def _reason(result: Any) -> str:
    if not getattr(result, "flagged", False):
        return ""
    categories: Any = getattr(result, "categories", None)
    raw = categories.model_dump(by_alias=True) if hasattr(categories, "model_dump") else dict(categories or {})
    named = sorted(name for name, on in raw.items() if on)
    return "the provider's moderation flagged it" + (f" ({', '.join(named)})" if named else "")


def endpoint_forget() -> None:
    """Forget which servers lack the endpoint (tests, or after the admin changes AI_BASE_URL)."""
    with _lock:
        _no_endpoint.clear()
