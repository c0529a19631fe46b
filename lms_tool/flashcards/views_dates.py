"""A deck's open, due and close dates, typed in the instructor's zone (flashcards/windows.py)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from lms_tool.lti.decorators import launch_of, page_redirect, staff_page, user_of
from lms_tool.lti.timezones import launch_zone, local_datetime_field, local_input, platform_dates

from . import windows
from .access import deck_in_course
from .models import Deck


class DeckDatesForm(forms.Form):
    opens_at = local_datetime_field("Opens", "Learners can study from then. Empty: as soon as it is published.")
    due_at = local_datetime_field("Due", "Shown to learners; study goes on after it until the close.")
    closes_at = local_datetime_field("Closes", "No study after it. Empty: never closes.")

    @staticmethod
    def initial_for(deck: Deck, zone: tzinfo) -> dict[str, Any]:
        return {
            "opens_at": local_input(deck.opens_at, zone),
            "due_at": local_input(deck.due_at, zone),
            "closes_at": local_input(deck.closes_at, zone),
        }


@never_cache
@staff_page
@require_http_methods(["GET", "POST"])
def deck_dates(request: HttpRequest, pk: int) -> HttpResponse:
    launch = launch_of(request)
    deck = deck_in_course(request, pk)
    zone = launch_zone(launch)
    form = DeckDatesForm(request.POST or None, initial=DeckDatesForm.initial_for(deck, zone.zone))
    error = ""
    if request.method == "POST":
        with timezone.override(zone.zone):
            valid = form.is_valid()
        if valid:
            try:
                windows.deck_dates_update(deck=deck, actor=user_of(request), **form.cleaned_data)
                return page_redirect("flashcards:deck_detail", launch, deck.pk)
            except windows.DatesInvalid as refused:
                error = str(refused.user_message)
        else:
            error = "; ".join(
                f"{form.fields[k].label if k in form.fields else ''}: {' '.join(map(str, v))}"
                for k, v in form.errors.items()
            )
    context = {"launch": launch, "deck": deck, "form": form, "zone": zone, "error": error}
    context["platform"] = platform_dates(launch)
    return render(request, "flashcards/deck_dates.html", context, status=400 if error else 200)
