"""Forms of the quiz dates and of a learner's accommodation: field parsing; the services decide the rest."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lms_tool.lti.timezones import local_datetime_field, local_input

from .models import LatePolicy, Quiz

if TYPE_CHECKING:
    pass  # the stubs' type of a lazy string


class QuizDatesForm(forms.Form):
    """Times are typed in the instructor's zone (named on the page) and stored in UTC: parse it under
    ``timezone.override(zone)`` (``dates_clean``)."""

    opens_at = local_datetime_field(
        _("Opens"), _("Learners can start from then. Empty: open as soon as it is published.")
    )
    due_at = local_datetime_field(_("Due"), _("Submissions after it are late."))
    closes_at = local_datetime_field(
        _("Closes"), _("Nothing can be started or submitted after it. Empty: never closes.")
    )
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
        return {
            "opens_at": local_input(quiz.opens_at, zone),
            "due_at": local_input(quiz.due_at, zone),
            "closes_at": local_input(quiz.closes_at, zone),
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
