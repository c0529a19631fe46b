"""Input parsing for the instructor pages (validation of meaning stays in the services and models)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .models import Deck
from .services import MAX_GENERATION_CARDS, MAX_GENERATION_CHARS

_STEP = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def steps_parse(text: str) -> list[int]:
    """``"1m 10m"`` -> ``[60, 600]``; units s, m, h, d."""
    steps = []
    for part in text.replace(",", " ").split():
        match = _STEP.match(part.strip().lower())
        if not match:
            raise forms.ValidationError(
                _("%(step)s is not a step: write e.g. 1m 10m (units s, m, h, d)."), params={"step": repr(part)}
            )
        steps.append(int(match.group(1)) * _UNIT[match.group(2)])
    return steps


def steps_format(seconds: list[int]) -> str:
    out = []
    for s in seconds:
        unit = next(u for u in ("d", "h", "m", "s") if s % _UNIT[u] == 0)
        out.append(f"{s // _UNIT[unit]}{unit}")
    return " ".join(out)


class DeckForm(forms.Form):
    # Labels and help in the launch's language (docs/translation.md).
    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Description"))
    desired_retention = forms.FloatField(
        min_value=0.7,
        max_value=0.99,
        initial=0.9,
        label=_("Desired retention"),
        help_text=_("Recall probability to aim for when a card falls due."),
    )
    maximum_interval = forms.IntegerField(
        min_value=1, max_value=36500, initial=36500, label=_("Maximum interval"), help_text=_("Days.")
    )
    learning_steps = forms.CharField(
        required=False, initial="1m 10m", label=_("Learning steps"), help_text=_("e.g. 1m 10m")
    )
    relearning_steps = forms.CharField(
        required=False, initial="10m", label=_("Relearning steps"), help_text=_("e.g. 10m")
    )
    new_cards_per_day = forms.IntegerField(min_value=0, max_value=9999, initial=20, label=_("New cards per day"))
    enable_fuzzing = forms.BooleanField(required=False, initial=True, label=_("Spread intervals a little"))
    # Optional in the form so a post without them (an older page, the API) keeps the deck's current rule.
    grading_rule = forms.ChoiceField(
        choices=Deck.GradingRule.choices,
        required=False,
        initial=Deck.GradingRule.COMPLETION,
        label=_("Grade"),
        help_text=_("What the deck's gradebook column shows. Nothing is sent before a learner's first rating."),
    )
    grading_threshold = forms.FloatField(
        required=False,
        min_value=0.5,
        max_value=0.99,
        initial=0.8,
        label=_("Grading threshold"),
        help_text=_(
            "Recall rule only: a card counts when the learner would recall it today with at least this "
            "probability (0.50-0.99). Not the desired retention above, which only schedules reviews."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("grading_rule", "grading_threshold"):
            if cleaned.get(name) in (None, ""):
                cleaned.pop(name, None)
        return cleaned

    def clean_learning_steps(self) -> list[int]:
        return steps_parse(self.cleaned_data["learning_steps"])

    def clean_relearning_steps(self) -> list[int]:
        return steps_parse(self.cleaned_data["relearning_steps"])

    @classmethod
    def for_deck(cls, deck: Any) -> DeckForm:
        return cls(
            initial={
                "title": deck.title,
                "description": deck.description,
                "desired_retention": deck.desired_retention,
                "maximum_interval": deck.maximum_interval,
                "learning_steps": steps_format(deck.learning_steps),
                "relearning_steps": steps_format(deck.relearning_steps),
                "new_cards_per_day": deck.new_cards_per_day,
                "enable_fuzzing": deck.enable_fuzzing,
                "grading_rule": deck.grading_rule,
                "grading_threshold": deck.grading_threshold,
            }
        )


class CardForm(forms.Form):
    front = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        label=_("Front"),
        help_text=_("Markdown. A cloze card hides {{c1::words}} on the front."),
    )
    back = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, required=False, label=_("Back"))
    tags = forms.CharField(
        required=False, max_length=1000, label=_("Tags"), help_text=_("Concepts, separated by spaces.")
    )

    def clean_tags(self) -> list[str]:
        return self.cleaned_data["tags"].split()


class GenerateForm(forms.Form):
    # The limit is said before pasting, not only in the refusal after it (services.generation_request).
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        label=_("Course text"),
        help_text=format_lazy(
            _("At most {chars} characters per request; split longer material."), chars=f"{MAX_GENERATION_CHARS:,}"
        ),
    )
    count = forms.IntegerField(min_value=1, max_value=MAX_GENERATION_CARDS, initial=10, label=_("Cards"))


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV or Anki TSV/TXT: front, back, tags (tags separated by spaces).")
    )
