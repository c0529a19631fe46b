"""The attempt page's parts that cost the most to render through the template engine, every learner at the start
of a class (docs/benchmarks.md, "Burst"): the words the page script says, and the options of choice questions.

``{% attempt_words %}``: the words only change with the language, so each language's block is rendered once per
process from ``quizzes/_attempt_words.html`` and kept (translations are compiled at deploy, docs/translation.md).
``{% choice_options kind question_pk options response %}``: the same HTML as a template loop over the options,
shown the same way (``render_value_in_context``), built in one Python loop.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.template.base import render_value_in_context
from django.template.loader import get_template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_WORDS: dict[str | None, SafeString] = {}


@register.simple_tag
def attempt_words() -> SafeString:
    language = get_language()
    words = _WORDS.get(language)
    if words is None:
        words = _WORDS[language] = mark_safe(get_template("quizzes/_attempt_words.html").render({}))  # noqa: S308 - rendered by the template engine, escaped there
    return words


def _chosen(index: int, response: Any) -> bool:
    # As the template's ``{% if i in item.response %}``: anything that cannot hold the index (None) is not chosen.
    try:
        return index in response
    except TypeError:
        return False


def _shown(value: Any, context: template.Context) -> str:
    """``{{ value }}``: an option's text is escaped; a number goes through localization as the template would."""
    if type(value) is str:
        return conditional_escape(value)
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)  # what localizing an int gives without grouping (django.utils.numberformat)
    return render_value_in_context(value, context)


@register.simple_tag(takes_context=True)
def choice_options(
    context: template.Context, kind: str, question_pk: Any, options: list[tuple[int, Any]], response: Any
) -> SafeString:
    """``<label><input type="radio|checkbox" name="q<pk>" value="<i>" [checked]> <option></label>`` per option,
    each value shown as ``{{ value }}`` shows it (localized, escaped: ``render_value_in_context``)."""
    name = "q" + _shown(question_pk, context)
    kind = conditional_escape(kind)
    parts = [
        f'<label><input type="{kind}" name="{name}" value="{_shown(index, context)}" '
        f"{'checked' if _chosen(index, response) else ''}> {_shown(text, context)}</label>"
        for index, text in options
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
