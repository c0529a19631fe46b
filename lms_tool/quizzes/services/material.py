"""Course material to plain text: pasted text, Markdown, HTML or PDF uploads, within clear limits."""

from __future__ import annotations

import io
import logging
import re
from html.parser import HTMLParser

from django.conf import settings
from django.utils.translation import gettext
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ..errors import QuizError

logger = logging.getLogger(__name__)
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
ACCEPTED = ", ".join(s.lstrip(".") for s in (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf"))


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def text_from_upload(*, name: str, data: bytes) -> str:
    """The text of an uploaded file; a ``QuizError`` names the limit or the problem otherwise."""
    limit = settings.QUIZZES["MAX_UPLOAD_BYTES"]
    if len(data) > limit:
        raise QuizError(
            gettext("The file %(name)s is %(size)s; the limit is %(limit)s.")
            % {"name": name, "size": _mb(len(data)), "limit": _mb(limit)},
            status=413,
        )
    lowered = name.lower()
    if lowered.endswith(".pdf"):
        text = _pdf_text(name, data)
    elif lowered.endswith(HTML_SUFFIXES):
        text = html_to_text(_decode(name, data))
    elif lowered.endswith(TEXT_SUFFIXES):
        text = markdown_to_text(_decode(name, data))
    else:
        raise QuizError(
            gettext("%(name)s is not a file type this tool reads. Upload one of: %(types)s.")
            % {"name": name, "types": ACCEPTED},
            status=415,
        )
    return text_checked(text, source=name)


def text_checked(text: str, *, source: str = "") -> str:
    """``source``: the uploaded file's name; empty for pasted text (the sentence then says "The text")."""
    text = re.sub(r"[ \t]+", " ", text.replace("\r\n", "\n")).strip()
    if len(text.split()) < 20:
        raise QuizError(
            gettext("%(name)s has too little text to write questions from (at least a paragraph is needed).")
            % {"name": source}
            if source
            else gettext("The text has too little text to write questions from (at least a paragraph is needed).")
        )
    limit = settings.QUIZZES["MAX_TEXT_CHARS"]
    if len(text) > limit:
        numbers = {"name": source, "chars": f"{len(text):,}", "limit": f"{limit:,}"}
        raise QuizError(
            gettext(
                "%(name)s has %(chars)s characters; the limit is %(limit)s. Split the material into several quizzes."
            )
            % numbers
            if source
            else gettext(
                "The text has %(chars)s characters; the limit is %(limit)s. Split the material into several quizzes."
            )
            % numbers,
            status=413,
        )
    return text


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise QuizError(
            gettext("%(name)s is not UTF-8 text. Save it as UTF-8 and upload it again.") % {"name": name}
        ) from None


def markdown_to_text(text: str) -> str:
    """Markdown's prose without its markup (headings, emphasis, links, code fences, HTML tags)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", "", text, flags=re.M)
    return re.sub(r"(\*\*|__|\*|_|`)(\S.*?\S|\S)\1", r"\2", text)


class _HtmlText(HTMLParser):
    BLOCKS = frozenset("p div section article li h1 h2 h3 h4 h5 h6 br tr blockquote pre".split())  # noqa: SIM905
    SKIP = frozenset({"script", "style", "head", "nav", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts))


def _pdf_text(name: str, data: bytes) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise QuizError(
                gettext("%(name)s is password-protected. Upload a copy without a password.") % {"name": name}
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        logger.info("unreadable PDF %s: %s", name, exc)
        raise QuizError(
            gettext("%(name)s could not be read as a PDF. Export it again, or paste its text.") % {"name": name}
        ) from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise QuizError(
            gettext("%(name)s has no text layer (a scanned document?). Paste its text instead.") % {"name": name}
        )
    return text
