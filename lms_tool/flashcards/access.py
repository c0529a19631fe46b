"""What the pages share: the launch's user, a deck only within the launch's course, URLs that carry the launch."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse

from lms_tool.lti.models import LtiUser, ResourceLink
from lms_tool.lti.types import LtiLaunch

from .models import Deck

MANAGE_ROLES = ("Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator")


def launch_of(request: HttpRequest) -> LtiLaunch:
    return request.lti_launch  # type: ignore[attr-defined, no-any-return]


def user_of(request: HttpRequest) -> LtiUser:
    return LtiUser.objects.get(pk=launch_of(request).user_pk)


def deck_in_course(request: HttpRequest, pk: int, *, published_only: bool = False) -> Deck:
    """The deck if it belongs to the launch's course (and is published, for learners); else 404."""
    context_pk = launch_of(request).context_pk
    if context_pk is None:
        raise Http404("This launch is not in a course.")
    decks = Deck.objects.filter(pk=pk, context_id=context_pk)
    if published_only:
        decks = decks.published()
    deck = decks.select_related("context").first()
    if deck is None:
        raise Http404("No such deck in this course.")
    return deck


def url(name: str, *args: object, launch: LtiLaunch | str, **query: str) -> str:
    launch_id = launch if isinstance(launch, str) else launch.launch_id
    return f"{reverse(f'flashcards:{name}', args=args)}?{urlencode({'launch': launch_id, **query})}"


def redirect(request: HttpRequest, name: str, *args: object, **query: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(url(name, *args, launch=launch_of(request), **query), status=303)  # type: ignore[call-arg]


def grade_link(launch: LtiLaunch, deck: Deck) -> ResourceLink | None:
    """The placement to grade: a learner's launch of a link whose custom ``activity`` is this deck."""
    if not launch.is_learner or launch.is_staff or not launch.resource_link_pk:
        return None
    if str(launch.custom.get("activity", "")) != f"deck:{deck.pk}":
        return None
    return ResourceLink.objects.filter(pk=launch.resource_link_pk).first()


def open_url(launch: LtiLaunch, deck_id: str) -> str:
    """Where a resource-link launch of ``deck:<id>`` lands: staff manage the deck, learners review it."""
    name = "deck_detail" if launch.is_staff else "review"
    # A malformed id still gets a page: the deck view's "no such deck in this course".
    return url(name, int(deck_id) if deck_id.isdigit() else 0, launch=launch)
