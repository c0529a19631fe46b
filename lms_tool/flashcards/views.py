"""Instructor pages: decks, cards, generation, import/export, publishing, retention analytics.

Forms post back with the launch id (no cookies inside the platform's iframe): the unguessable launch id is
the request's proof, so these views need no CSRF cookie.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lms_tool.lti import picking
from lms_tool.lti.decorators import NotFound, launch_of, page_redirect, staff_page, user_of

from . import selectors, services, transfer
from .access import deck_in_course
from .forms import CardForm, DeckForm, GenerateForm, ImportForm


def redirect(request: HttpRequest, name: str, *args: object, **query: str) -> HttpResponseRedirect:
    return page_redirect(f"flashcards:{name}", launch_of(request), *args, **query)


@staff_page
@require_http_methods(["GET", "POST"])
def deck_list(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = selectors.course_of(launch=launch)
    form = DeckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deck = services.deck_create(context=course, actor=user_of(request), **form.cleaned_data)
        except services.DeckInvalid as error:
            form.add_error(None, error.user_message)
            for field, messages in error.errors.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return redirect(request, "deck_detail", deck.pk)
    status = 400 if request.method == "POST" else 200
    context = {"launch": launch, "decks": selectors.decks_counted(launch=launch), "form": form, "course": course}
    return render(request, "flashcards/deck_list.html", context, status=status)


def _detail_context(request: HttpRequest, deck, **extra) -> dict:  # type: ignore[no-untyped-def]
    launch = launch_of(request)
    page = selectors.deck_page(deck=deck)
    return {
        "launch": launch,
        "deck": deck,
        "cards": page.cards,
        "proposed": page.proposed,
        # Each request with what the quality check held back, in words (lms_tool/ai/quality.py).
        "generations": [(g, page.held_back.get(g.pk, "")) for g in page.generations],
        # Opened to add an activity: publishing also adds the deck to the course, in one step.
        "picking": launch.message_type == "LtiDeepLinkingRequest",
        "settings_form": extra.pop("settings_form", None) or DeckForm.for_deck(deck),
        "card_form": extra.pop("card_form", None) or CardForm(),
        "generate_form": extra.pop("generate_form", None) or GenerateForm(),
        "import_form": ImportForm(),
        **extra,
    }


@staff_page
@require_GET
def deck_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    return render(request, "flashcards/deck_detail.html", _detail_context(request, deck))


def _detail_or_400(request: HttpRequest, deck, error, **forms) -> HttpResponse:  # type: ignore[no-untyped-def]
    context = _detail_context(request, deck, **forms)
    context["error"] = error
    return render(request, "flashcards/deck_detail.html", context, status=400)


@staff_page
@require_POST
def deck_settings(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    form = DeckForm(request.POST)
    if not form.is_valid():
        return _detail_or_400(request, deck, None, settings_form=form)
    try:
        services.deck_update(deck=deck, actor=user_of(request), **form.cleaned_data)
    except services.DeckInvalid as error:
        return _detail_or_400(request, deck, error, settings_form=form)
    return redirect(request, "deck_detail", deck.pk)


@staff_page
@require_POST
def deck_publish(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    try:
        if request.POST.get("action") == "unpublish":
            services.deck_unpublish(deck=deck, actor=user_of(request))
        else:
            services.deck_publish(
                deck=deck, actor=user_of(request), proposed_confirmed=request.POST.get("confirm_proposed") == "1"
            )
    except services.DeckInvalid as error:
        return _detail_or_400(request, deck, error)
    if request.POST.get("add") == "1" and request.POST.get("action") != "unpublish":
        return picking.add_to_course(request, launch=launch_of(request), activities=[f"deck:{deck.pk}"])
    return redirect(request, "deck_detail", deck.pk)


@staff_page
@require_POST
def card_add(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    form = CardForm(request.POST)
    if not form.is_valid():
        return _detail_or_400(request, deck, None, card_form=form)
    try:
        services.card_create(deck=deck, actor=user_of(request), **form.cleaned_data)
    except services.DeckInvalid as error:
        return _detail_or_400(request, deck, error, card_form=form)
    return redirect(request, "deck_detail", deck.pk)


@staff_page
@require_http_methods(["GET", "POST"])
def card_edit(request: HttpRequest, pk: int, card_pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    card = selectors.card_of(deck=deck, pk=card_pk)
    initial = {"front": card.front, "back": card.back, "tags": " ".join(card.tags)}
    form = CardForm(request.POST or None, initial=initial)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.card_update(card=card, actor=user_of(request), **form.cleaned_data)
            if request.POST.get("approve"):
                services.cards_approve(deck=deck, actor=user_of(request), card_ids=[card.pk])
            return redirect(request, "deck_detail", deck.pk)
        except services.DeckInvalid as exc:
            error = exc
    context = {"launch": launch_of(request), "deck": deck, "card": card, "form": form, "error": error}
    return render(request, "flashcards/card_edit.html", context, status=400 if request.method == "POST" else 200)


@staff_page
@require_POST
def cards_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or delete proposed cards: one (``card``) or all proposed at once (``all``)."""
    deck = deck_in_course(request, pk)
    actor = user_of(request)
    action = request.POST.get("action")
    if action == "approve_all":
        services.cards_approve(deck=deck, actor=actor)
    elif action in {"approve", "delete"}:
        raw = request.POST.get("card", "")
        card = selectors.card_of(deck=deck, pk=int(raw) if raw.isdigit() else 0)
        if action == "approve":
            services.cards_approve(deck=deck, actor=actor, card_ids=[card.pk])
        else:
            services.card_delete(card=card, actor=actor)
    else:
        raise NotFound(gettext_lazy("Unknown action: choose approve, approve all or delete."))
    return redirect(request, "deck_detail", deck.pk)


@staff_page
@require_POST
def deck_generate(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    form = GenerateForm(request.POST)
    if not form.is_valid():
        return _detail_or_400(request, deck, None, generate_form=form)
    try:
        services.generation_request(deck=deck, actor=user_of(request), **form.cleaned_data)
    except services.DeckInvalid as error:
        return _detail_or_400(request, deck, error, generate_form=form)
    return redirect(request, "deck_detail", deck.pk)


@staff_page
@require_POST
def deck_import(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_or_400(request, deck, services.DeckInvalid(gettext("Choose a CSV or TSV file to import.")))
    upload = form.cleaned_data["file"]
    try:
        cards = transfer.cards_import_upload(
            deck=deck, upload=upload, filename=upload.name or "", actor=user_of(request)
        )
    except transfer.ImportRejected as error:
        return _detail_or_400(request, deck, error, import_errors=error.errors)
    return redirect(request, "deck_detail", deck.pk, imported=str(len(cards)))


@staff_page
@require_GET
def deck_export(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    fmt = "csv" if request.GET.get("format") == "csv" else "tsv"
    body = transfer.cards_export(deck=deck, fmt=fmt)
    content_type = "text/csv" if fmt == "csv" else "text/tab-separated-values"
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    filename = f"deck-{deck.pk}.{'csv' if fmt == 'csv' else 'txt'}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _days(request: HttpRequest) -> int:
    try:
        return min(max(int(request.GET.get("days", "7")), 0), 3650)
    except ValueError:
        return 7


@staff_page
@require_GET
def deck_analytics(request: HttpRequest, pk: int) -> HttpResponse:
    deck = deck_in_course(request, pk)
    days = _days(request)
    context = {
        "launch": launch_of(request),
        "deck": deck,
        "days": days,
        "cards": selectors.card_retention(deck=deck, days=days),
        "learners": selectors.learner_retention(deck=deck, days=days),
    }
    return render(request, "flashcards/deck_analytics.html", context)


@staff_page
@require_GET
def course_analytics(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = selectors.course_of(launch=launch)
    days = _days(request)
    concepts = selectors.concept_retention(context=course, days=days)
    context = {
        "launch": launch,
        "course": course,
        "days": days,
        "lowest": concepts[:15],
        "lapsed": sorted((c for c in concepts if c.lapses), key=lambda c: -c.lapses)[:15],
        "decks": selectors.deck_retention(context=course, days=days),
    }
    return render(request, "flashcards/course_analytics.html", context)
