"""Learner pages: the review session and the learner's own progress."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lms_tool.lti.decorators import launch_of, page_redirect, tool_page, user_of, wants_json
from lms_tool.lti.timezones import launch_zone

from . import reviews, selectors, windows
from .access import deck_in_course, grade_link, url
from .markdown import render_answer, render_question
from .models import Card

logger = logging.getLogger(__name__)
# (value, stable key for tests and scripts, the label people read: translated, docs/translation.md)
RATING_LABELS = ((1, "again", _("Again")), (2, "hard", _("Hard")), (3, "good", _("Good")), (4, "easy", _("Easy")))


@tool_page
@never_cache
@require_GET
def review(request: HttpRequest, pk: int) -> HttpResponse:
    launch = launch_of(request)
    deck = deck_in_course(request, pk, published_only=not launch.is_staff)
    learner = user_of(request)
    now = timezone.now()
    zone, window = launch_zone(launch), windows.deck_window(deck=deck, launch=launch)
    dated = {"zone": zone, "window": window}
    if not launch.is_staff:
        try:
            windows.study_check(window=window, zone=zone, now=now)
        except windows.StudyClosed as closed:
            page = {"launch": launch, "deck": deck, "closed": closed, **dated}
            return render(request, "flashcards/review_closed.html", page)
    shown = reviews.next_card(deck=deck, learner=learner, now=now, zone=zone.zone)
    context = {
        "launch": launch,
        "deck": deck,
        "counts": reviews.queue_counts(deck=deck, learner=learner, now=now, zone=zone.zone),
        "shown": shown,
        **dated,
    }
    if shown is None:
        context["next_due"] = reviews.next_due_at(deck=deck, learner=learner)
        return render(request, "flashcards/review_done.html", context)
    cloze = shown.card.kind == Card.Kind.CLOZE
    context.update(
        question=render_question(shown.card.front, cloze=cloze),
        answer=render_answer(shown.card.front, shown.card.back, cloze=cloze),
        buttons=[(value, key, label, shown.intervals[value]) for value, key, label in RATING_LABELS],
    )
    return render(request, "flashcards/review.html", context)


def _duration(raw: str) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 <= value <= 24 * 3600 * 1000 else None


@tool_page  # no cookies inside the iframe: the launch id and the signed card token are the proof
@never_cache
@require_POST
def review_rate(request: HttpRequest, pk: int) -> HttpResponse:
    launch = launch_of(request)
    deck = deck_in_course(request, pk, published_only=not launch.is_staff)
    script = wants_json(request)  # the review page's script; it keeps ratings it could not send
    try:
        rating = int(request.POST.get("rating", "0"))
    except ValueError:
        rating = 0
    try:
        if not launch.is_staff:
            window = windows.deck_window(deck=deck, launch=launch)
            try:
                windows.study_check(window=window, zone=launch_zone(launch))
            except windows.StudyClosed as closed:
                raise reviews.ReviewRefused(closed.code, closed.user_message, status=closed.status) from None
        state = reviews.review_record(
            deck=deck,
            learner=user_of(request),
            token=request.POST.get("token", ""),
            rating=rating,
            duration_ms=_duration(request.POST.get("duration_ms", "")),
            resource_link=grade_link(launch, deck),
            client_id=request.POST.get("client_id", ""),
        )
    except reviews.ReviewRefused as refused:
        logger.info("rating refused for deck %s: %s (%s)", deck.pk, refused.code, refused.detail)
        if script:
            return JsonResponse(
                {"ok": False, "code": refused.code, "message": refused.user_message}, status=refused.status
            )
        context = {
            "launch": launch,
            "deck": deck,
            "refused": refused,
            "continue_url": url("review", deck.pk, launch=launch),
        }
        return render(request, "flashcards/review_refused.html", context, status=refused.status)
    if script:
        return JsonResponse({"ok": True, "due": state.due.isoformat(), "state": state.get_state_display()})
    return page_redirect("flashcards:review", launch, deck.pk)


@tool_page
@never_cache
@require_GET
def progress(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = selectors.course_of(launch=launch)
    days = 7
    decks = selectors.learner_progress(learner=user_of(request), context=course, days=days)
    return render(
        request, "flashcards/progress.html", {"launch": launch, "course": course, "decks": decks, "days": days}
    )
