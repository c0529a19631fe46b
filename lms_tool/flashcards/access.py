"""Which deck a launch reaches: within the launch's course only, the link's deck graded, copies made for a course copy."""

from __future__ import annotations

from django.http import HttpRequest

from lms_tool.lti.activities import activity_locate
from lms_tool.lti.decorators import launch_of, page_url
from lms_tool.lti.models import ResourceLink
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
    """The deck of the launch's course that ``deck:<deck_id>`` opens (copied at its first launch in another
    course of the registration); None when out of reach."""
    return activity_locate(
        launch,
        deck_id,
        proven,
        in_course=lambda launch, pk: selectors.deck_in_course(launch=launch, pk=pk),
        copy_in_course=lambda launch, pk: selectors.deck_copy_in_course(launch=launch, original_id=pk),
        of_registration=lambda launch, pk: selectors.deck_of_registration(launch=launch, pk=pk),
        copy=lambda original, context, actor: services.deck_copy(original=original, context=context, actor=actor),
    )


def open_url(launch: LtiLaunch, deck_id: str) -> str:
    """Where a resource-link launch of ``deck:<id>`` lands: staff manage the deck, learners review it."""
    return url("deck_detail" if launch.is_staff else "review", int(deck_id), launch=launch)
