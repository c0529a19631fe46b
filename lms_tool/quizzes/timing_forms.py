"""Forms of the quiz dates and of a learner's accommodation: field parsing; the services decide the rest."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import LatePolicy, Quiz

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise  # the stubs' type of a lazy string

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _when(label: str | _StrPromise, help_text: str | _StrPromise) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=False,
        label=label,
        help_text=help_text,
        input_formats=[LOCAL_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT),
    )


class QuizDatesForm(forms.Form):
    """Times are typed in the instructor's zone (named on the page) and stored in UTC: parse it under
    ``timezone.override(zone)`` (``dates_clean``)."""

    opens_at = _when(_("Opens"), _("Learners can start from then. Empty: open as soon as it is published."))
    due_at = _when(_("Due"), _("Submissions after it are late."))
    closes_at = _when(_("Closes"), _("Nothing can be started or submitted after it. Empty: never closes."))
    late_policy = forms.ChoiceField(choices=LatePolicy.choices, label=_("Late submissions"), widget=forms.RadioSelect)
    late_penalty_percent = forms.IntegerField(
        required=False, label=_("Late penalty (%)"), help_text=_("Taken off a late score, with the penalty policy.")
    )
    timer_extension_minutes = forms.IntegerField(
        required=False,
        label=_("Learners may add this many minutes to their timer"),
        help_text=_("Up to 10 times per attempt, never past the close. 0 or empty: they cannot."),
    )

    @staticmethod
    def initial_for(quiz: Quiz, zone: tzinfo) -> dict[str, Any]:
        def local(value: datetime | None) -> str:
            return value.astimezone(zone).strftime(LOCAL_FORMAT) if value else ""

        return {
            "opens_at": local(quiz.opens_at),
            "due_at": local(quiz.due_at),
            "closes_at": local(quiz.closes_at),
            "late_policy": quiz.late_policy,
            "late_penalty_percent": quiz.late_penalty_percent,
            "timer_extension_minutes": quiz.timer_extension_minutes,
        }


def dates_clean(form: forms.Form, zone: tzinfo) -> bool:
    """``form.is_valid()`` with naive times read in ``zone`` (a time that does not exist there is an error)."""
    with timezone.override(zone):
        return form.is_valid()


class AccommodationForm(forms.Form):
    user = forms.IntegerField(widget=forms.HiddenInput)
    time_factor = forms.FloatField(
        required=False, label=_("Time factor"), help_text=_("1.5 gives half as much time again; empty or 1 for none.")
    )
    extra_minutes = forms.IntegerField(required=False, label=_("Extra minutes"))
    extra_attempts = forms.IntegerField(required=False, label=_("Extra attempts"))
