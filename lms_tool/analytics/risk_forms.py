"""The instructor's thresholds form: every field required and range-checked, shares entered as percentages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .risk_models import RiskSettings


class PercentField(forms.IntegerField):
    """A share typed as a whole percentage ("15" for 15%), stored as a fraction."""

    def __init__(self, *, low: int, high: int, **kwargs: Any) -> None:
        super().__init__(min_value=low, max_value=high, **kwargs)


class RiskSettingsForm(forms.Form):
    window_days = forms.IntegerField(
        min_value=1, max_value=90, label=_("Days to start a new activity"), help_text=_("1 to 90 days after it opens.")
    )
    inactive_days = forms.IntegerField(
        min_value=1, max_value=90, label=_("Days without activity"), help_text=_("1 to 90 days.")
    )
    score_drop = PercentField(
        low=1,
        high=100,
        label=_("Fall in quiz scores (%)"),
        help_text=_("Earlier attempts to recent ones, 1 to 100 points."),
    )
    pass_mark = PercentField(low=5, high=95, label=_("Pass mark for quiz scores (%)"), help_text=_("5 to 95."))
    recall_floor = PercentField(low=5, high=95, label=_("Lowest predicted recall (%)"), help_text=_("5 to 95."))
    risk_threshold = PercentField(
        low=5,
        high=95,
        label=_("List learners from a risk score of (%)"),
        help_text=_("5 to 95; lower lists more learners."),
    )

    SHARES = ("score_drop", "pass_mark", "recall_floor", "risk_threshold")

    @classmethod
    def initial_of(cls, settings: RiskSettings) -> dict[str, int]:
        return {
            "window_days": settings.window_days,
            "inactive_days": settings.inactive_days,
            **{name: round(getattr(settings, name) * 100) for name in cls.SHARES},
        }

    def values(self) -> dict[str, float | int]:
        data = self.cleaned_data
        return {
            "window_days": data["window_days"],
            "inactive_days": data["inactive_days"],
            **{name: data[name] / 100 for name in self.SHARES},
        }
