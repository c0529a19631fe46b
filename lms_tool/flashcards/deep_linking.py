"""Decks as an activity source of the Deep Linking picker (CONTRACTS.md "Deep Linking picker")."""

from __future__ import annotations

import logging
from typing import Any

from lms_tool.lti.types import LtiLaunch

from . import grades
from .access import open_url
from .models import Deck

logger = logging.getLogger(__name__)


def list_items(launch: LtiLaunch) -> list[Any]:
    """The course's published decks, each embedded as a graded activity routed by ``activity=deck:<id>``."""
    from lms_tool.lti.deep_linking import PickableItem

    if launch.context_pk is None:
        return []
    return [
        PickableItem(
            kind="deck",
            id=str(deck.pk),
            title=deck.title,
            score_maximum=grades.SCORE_MAXIMUM,
            custom={"activity": f"deck:{deck.pk}"},
            resource_id=f"deck:{deck.pk}",
            tag="flashcards",
        )
        for deck in Deck.objects.published().filter(context_id=launch.context_pk)
    ]


def register() -> bool:
    """Register with the picker; False while lms_tool.lti.deep_linking has not landed yet."""
    try:
        from lms_tool.lti.deep_linking import register_activity_source
    except ModuleNotFoundError as error:
        if error.name != "lms_tool.lti.deep_linking":
            raise
        logger.debug("deep-linking picker not available: decks are not offered there yet")
        return False
    register_activity_source(kind="deck", label="Flashcard deck", list_items=list_items, open_url=open_url)
    return True
