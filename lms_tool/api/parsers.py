"""The API's JSON parser: what json.loads accepts but the tool cannot hold is refused (400) here, once.

A deeply nested body makes Python's decoder (and anything that walks the result) raise RecursionError,
and NUL characters or unpaired surrogates in a string pass json.loads but make PostgreSQL refuse the row;
either was a 500. Every /api/v1 view parses through this class (``ApiView.parser_classes``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

logger = logging.getLogger(__name__)

# No request of the API nests deeper than 3 levels; 32 leaves room and stays far below Python's limit.
MAX_DEPTH = 32


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate ("\ud800")
        return True
    return False


def check_document(data: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """ParseError when ``data`` nests deeper than ``max_depth`` or holds text a database cannot store."""
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if _bad_text(value):
                raise ParseError(f"The text at {where} holds a NUL character or an unpaired surrogate; remove it.")
            continue
        if not isinstance(value, Mapping | list):
            continue
        if depth >= max_depth:
            raise ParseError(f"The JSON body is nested more than {max_depth} levels deep; send a flatter document.")
        if isinstance(value, Mapping):
            for key, child in value.items():
                if _bad_text(key):
                    raise ParseError(f"A key in {where} holds a NUL character or an unpaired surrogate; remove it.")
                stack.append((child, f"{where}.{key[:40]}", depth + 1))
        else:
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(value))


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            logger.info("API refused a JSON body nested beyond the decoder's recursion limit")
            raise ParseError(
                f"The JSON body is nested more than {MAX_DEPTH} levels deep; send a flatter document."
            ) from exc
        try:
            check_document(data)
        except ParseError as exc:
            logger.info("API refused a JSON body: %s", exc.detail)
            raise
        return data
