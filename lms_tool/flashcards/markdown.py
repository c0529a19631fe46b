"""Card text to HTML: CommonMark with raw HTML off (so card text cannot inject markup), plus cloze gaps."""

from __future__ import annotations

import html
import re
import secrets
from functools import lru_cache

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# {{c1::answer}} or {{c1::answer::hint}} (Anki's cloze syntax).
CLOZE = re.compile(r"\{\{c\d+::(.+?)(?:::(.*?))?\}\}", re.S)


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # "commonmark" with html False escapes raw HTML; markdown-it's validateLink refuses javascript:/data: links.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render(text: str) -> SafeString:
    return mark_safe(_md().render(text or ""))  # noqa: S308 - markdown-it output with raw HTML disabled


def _render_cloze(text: str, show: bool) -> SafeString:
    # Each gap becomes a placeholder that Markdown leaves alone, then the gap's own (escaped) markup.
    marker = f"CLOZE{secrets.token_hex(6)}X"
    gaps: list[str] = []

    def hole(match: re.Match[str]) -> str:
        answer, hint = match.group(1), match.group(2)
        if show:
            gaps.append(f'<mark class="cloze">{html.escape(answer)}</mark>')
        else:
            gaps.append(f'<span class="cloze">[{html.escape(hint) if hint else "…"}]</span>')
        return f"{marker}{len(gaps) - 1}{marker}"

    rendered = _md().render(CLOZE.sub(hole, text or ""))
    for index, gap in enumerate(gaps):
        rendered = rendered.replace(f"{marker}{index}{marker}", gap)
    return mark_safe(rendered)  # noqa: S308 - gaps escaped above, the rest is markdown-it output


def render_question(front: str, *, cloze: bool) -> SafeString:
    return _render_cloze(front, show=False) if cloze else render(front)


def render_answer(front: str, back: str, *, cloze: bool) -> SafeString:
    """A cloze answer is the front with its gaps filled in, then any extra text from the back."""
    if not cloze:
        return render(back)
    extra = render(back) if back.strip() else ""
    return mark_safe(_render_cloze(front, show=True) + extra)  # noqa: S308
