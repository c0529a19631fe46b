"""Which deck a launch reaches: within the launch's course only, the link's deck graded, copies made for a course copy."""

from __future__ import annotations

from django.http import HttpRequest

from lms_tool.lti.decorators import launch_of, page_url
from lms_tool.lti.models import LtiUser, ResourceLink
from lms_tool.lti.types import LtiLaunch

from . import selectors, services
from .models import Deck


def deck_in_course(request: HttpRequest, pk: int, *, published_only: bool = False) -> Deck:
    """The deck if it belongs to the launch's course (and is published, for learners); else 404."""
    return selectors.deck_for_launch(launch=launch_of(request), pk=pk, published_only=published_only)


def url(name: str, *args: object, launch: LtiLaunch | str, **query: str) -> str:
    return page_url(f"flashcards:{name}", launch, *args, **query)


def grade_link(launch: LtiLaunch, deck: Deck) -> ResourceLink | None:
    """The placement to grade: a learner's launch of a link whose custom ``activity`` is this deck (or the deck
    this course's copy was made from)."""
    if not launch.is_learner or launch.is_staff or not launch.resource_link_pk:
        return None
    activity = str(launch.custom.get("activity", ""))
    if activity not in {f"deck:{deck.pk}", f"deck:{deck.copied_from_id}" if deck.copied_from_id else ""}:
        return None
    return ResourceLink.objects.filter(pk=launch.resource_link_pk, context_id=deck.context_id).first()


def locate(launch: LtiLaunch, deck_id: str, proven: bool) -> str | None:
    """The deck of the launch's course that ``deck:<deck_id>`` opens, copying it into the course at the first
    launch of a (proven) link to another course of the same registration; None when out of reach."""
    if not deck_id.isdigit() or launch.context_pk is None:
        return None
    pk = int(deck_id)
    here = selectors.deck_in_course(launch=launch, pk=pk)
    if here is not None:
        return str(here.pk)
    if not proven:
        return None
    copied = selectors.deck_copy_in_course(launch=launch, original_id=pk)
    if copied is not None:
        return str(copied.pk)
    original = selectors.deck_of_registration(launch=launch, pk=pk)
    if original is None:
        return None
    actor = LtiUser.objects.filter(pk=launch.user_pk).first()
    copy = services.deck_copy(original=original, context=selectors.course_of(launch=launch), actor=actor)
    return str(copy.pk)


def open_url(launch: LtiLaunch, deck_id: str) -> str:
    """Where a resource-link launch of ``deck:<id>`` lands: staff manage the deck, learners review it."""
    return url("deck_detail" if launch.is_staff else "review", int(deck_id), launch=launch)
