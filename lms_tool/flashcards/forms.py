"""Input parsing for the instructor pages (validation of meaning stays in the services and models)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

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
            raise forms.ValidationError(f"{part!r} is not a step: write e.g. 1m 10m (units s, m, h, d).")
        steps.append(int(match.group(1)) * _UNIT[match.group(2)])
    return steps


def steps_format(seconds: list[int]) -> str:
    out = []
    for s in seconds:
        unit = next(u for u in ("d", "h", "m", "s") if s % _UNIT[u] == 0)
        out.append(f"{s // _UNIT[unit]}{unit}")
    return " ".join(out)


class DeckForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    desired_retention = forms.FloatField(
        min_value=0.7, max_value=0.99, initial=0.9, help_text="Recall probability to aim for when a card falls due."
    )
    maximum_interval = forms.IntegerField(min_value=1, max_value=36500, initial=36500, help_text="Days.")
    learning_steps = forms.CharField(required=False, initial="1m 10m", help_text="e.g. 1m 10m")
    relearning_steps = forms.CharField(required=False, initial="10m", help_text="e.g. 10m")
    new_cards_per_day = forms.IntegerField(min_value=0, max_value=9999, initial=20)
    enable_fuzzing = forms.BooleanField(required=False, initial=True, label="Spread intervals a little")
    # Optional in the form so a post without them (an older page, the API) keeps the deck's current rule.
    grading_rule = forms.ChoiceField(
        choices=Deck.GradingRule.choices,
        required=False,
        initial=Deck.GradingRule.COMPLETION,
        label="Grade",
        help_text="What the deck's gradebook column shows. Nothing is sent before a learner's first rating.",
    )
    grading_threshold = forms.FloatField(
        required=False,
        min_value=0.5,
        max_value=0.99,
        initial=0.8,
        label="Grading threshold",
        help_text="Recall rule only: a card counts when the learner would recall it today with at least this "
        "probability (0.50-0.99). Not the desired retention above, which only schedules reviews.",
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
        help_text="Markdown. A cloze card hides {{c1::words}} on the front.",
    )
    back = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, required=False)
    tags = forms.CharField(required=False, max_length=1000, help_text="Concepts, separated by spaces.")

    def clean_tags(self) -> list[str]:
        return self.cleaned_data["tags"].split()


class GenerateForm(forms.Form):
    # The limit is said before pasting, not only in the refusal after it (services.generation_request).
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Course text",
        help_text=f"At most {MAX_GENERATION_CHARS:,} characters per request; split longer material.",
    )
    count = forms.IntegerField(min_value=1, max_value=MAX_GENERATION_CARDS, initial=10, label="Cards")


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or Anki TSV/TXT: front, back, tags (tags separated by spaces).")
