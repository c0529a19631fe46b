"""Course material in: pasted text, Markdown, HTML and PDF uploads, each limit a clear message."""

from __future__ import annotations

import pytest

from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.services import text_checked, text_from_upload

from .factories import course_text
from .pdf import pdf_with_text

HEART = course_text("heart.md")


def test_markdown_loses_its_markup_and_keeps_its_prose():
    text = text_from_upload(name="heart.md", data=("**Note:** see [the atlas](http://x.org).\n\n" + HEART).encode())

    assert "# The human heart" not in text and "The human heart" in text
    assert "Note: see the atlas." in text
    assert "The heart is a muscular organ that pumps blood through the body." in text


def test_html_keeps_the_text_of_its_blocks_and_drops_scripts():
    html = (
        "<html><head><title>x</title><script>var secret = 1;</script></head><body><h1>The heart</h1>"
        + "".join(f"<p>{p}</p>" for p in HEART.split("\n\n")[1:])
        + "</body></html>"
    )

    text = text_from_upload(name="heart.HTML", data=html.encode())

    assert "secret" not in text
    assert "The heart has four chambers." in text


def test_pdf_text_is_extracted():
    lines = [
        "The heart is a muscular organ that pumps blood through the body.",
        "The heart has four chambers, two atria and two ventricles.",
        "The aorta is the largest artery of the body and leaves the left ventricle.",
    ]

    text = text_from_upload(name="notes.pdf", data=pdf_with_text(lines))

    assert "The aorta is the largest artery" in text


def test_a_pdf_without_text_is_refused_with_a_reason():
    with pytest.raises(QuizError, match="no text layer"):
        text_from_upload(name="scan.pdf", data=pdf_with_text([]))


def test_a_broken_pdf_is_refused_with_a_reason():
    with pytest.raises(QuizError, match="could not be read as a PDF"):
        text_from_upload(name="broken.pdf", data=b"%PDF-1.4\nthis is not really a pdf")


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(settings):
    settings.QUIZZES = {**settings.QUIZZES, "MAX_UPLOAD_BYTES": 1024}

    with pytest.raises(QuizError, match=r"big\.md is 2 KB; the limit is 1 KB") as caught:
        text_from_upload(name="big.md", data=b"x" * 2048)
    assert caught.value.status == 413


def test_an_unknown_file_type_is_refused_with_the_accepted_types():
    with pytest.raises(QuizError, match="Upload one of: txt, md, markdown, html, htm, pdf") as caught:
        text_from_upload(name="slides.pptx", data=b"PK...")
    assert caught.value.status == 415


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(QuizError, match="not UTF-8"):
        text_from_upload(name="old.txt", data="Herz und Lunge ".encode("utf-16") * 20)


def test_too_little_text_is_refused():
    with pytest.raises(QuizError, match="too little text"):
        text_checked("The heart pumps blood.")


def test_too_much_text_is_refused_with_the_limit(settings):
    settings.QUIZZES = {**settings.QUIZZES, "MAX_TEXT_CHARS": 500}

    with pytest.raises(QuizError, match=r"the limit is 500\. Split the material"):
        text_checked(HEART)
