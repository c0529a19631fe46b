"""Decks as an activity source of the Deep Linking picker (LTI Deep Linking 2.0 §3.1 ``ltiResourceLink`` items)."""

from __future__ import annotations

from lms_tool.lti.deep_linking import PickableItem, register_activity_source
from lms_tool.lti.types import LtiLaunch

from . import grades
from .access import locate, open_url
from .models import Deck


def list_items(launch: LtiLaunch) -> list[PickableItem]:
    """The course's published decks, each embedded as a graded activity routed by ``activity=deck:<id>``."""
    if launch.context_pk is None:
        return []
    return [
        PickableItem(
            kind="deck",
            id=str(deck.pk),
            title=deck.title,
            score_maximum=grades.SCORE_MAXIMUM,
            resource_id=f"deck:{deck.pk}",
            tag="flashcards",
        )
        for deck in Deck.objects.published().filter(
            context_id=launch.context_pk, context__registration_id=launch.registration_id
        )
    ]


def register() -> None:
    register_activity_source(
        kind="deck", label="Flashcard decks", list_items=list_items, open_url=open_url, locate=locate
    )
