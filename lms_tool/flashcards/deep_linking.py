"""Decks as an activity source of the Deep Linking picker (LTI Deep Linking 2.0 §3.1 ``ltiResourceLink`` items),
and as a section of the staff course home."""

from __future__ import annotations

from lms_tool.lti.course_home import CourseItem, CourseSection, register_course_section
from lms_tool.lti.decorators import page_url
from lms_tool.lti.deep_linking import PickableItem, register_activity_source
from lms_tool.lti.types import LtiLaunch

from . import grades, selectors
from .access import locate, open_url


def _cards(count: int) -> str:
    return f"{count} card{'' if count == 1 else 's'}"


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
            text=_cards(deck.approved_count),  # type: ignore[attr-defined]
        )
        for deck in selectors.decks_counted(launch=launch, published_only=True)
    ]


def course_items(launch: LtiLaunch) -> list[CourseItem]:
    """The course's decks for its staff, drafts included, with the cards still awaiting approval."""
    items = []
    for deck in selectors.decks_counted(launch=launch):
        text = _cards(deck.approved_count)  # type: ignore[attr-defined]
        if deck.proposed_count:  # type: ignore[attr-defined]
            text += f" · {deck.proposed_count} awaiting approval"  # type: ignore[attr-defined]
        items.append(
            CourseItem(
                title=deck.title,
                published=deck.is_published,
                status=deck.get_status_display(),
                url=page_url("flashcards:deck_detail", launch, deck.pk),
                text=text,
                activity=f"deck:{deck.pk}",
            )
        )
    return items


def new_url(launch: LtiLaunch, picking: bool) -> str:
    return page_url("flashcards:deck_list", launch) + "#new-deck"


def register() -> None:
    register_activity_source(
        kind="deck", label="Flashcard decks", list_items=list_items, open_url=open_url, locate=locate
    )
    register_course_section(
        CourseSection(
            kind="deck", label="Flashcard decks", items=course_items, new_label="Create a new deck", new_url=new_url
        )
    )
