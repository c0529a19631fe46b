"""When a deck can be studied: open, due and close dates (docs/assessment.md, "Dates and time zones").

Stored in UTC; a platform that sends the assignment's dates with the launch (custom parameters,
``lms_tool.lti.timezones.platform_dates``) replaces the deck's dates as a whole, and the page says so.
A deck has no submission: its due date is shown, study goes on after it until the close.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from lms_tool.core.errors import ToolError
from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser
from lms_tool.lti.timezones import ActivityWindow, PersonZone, activity_window, local_format
from lms_tool.lti.types import LtiLaunch

from .models import Deck


class DatesInvalid(ToolError):
    def __init__(self, message: str):
        super().__init__(message, status=400)


class StudyClosed(ToolError):
    """Study outside the deck's dates: the page says when it opens, or that it has closed."""

    def __init__(self, message: str, code: str):
        super().__init__(message, status=409)
        self.code = code


DeckWindow = ActivityWindow


def deck_window(*, deck: Deck, launch: LtiLaunch | None) -> DeckWindow:
    return activity_window(launch, opens_at=deck.opens_at, due_at=deck.due_at, closes_at=deck.closes_at)


def study_check(*, window: DeckWindow, zone: PersonZone, now: datetime | None = None) -> None:
    """Refuse study before the open or after the close (staff preview is not checked: the caller decides)."""
    now = now or timezone.now()
    if window.opens_at is not None and now < window.opens_at:
        raise StudyClosed(
            gettext("This deck opens on %(when)s.") % {"when": local_format(window.opens_at, zone)}, "not_open"
        )
    if window.closes_at is not None and now >= window.closes_at:
        raise StudyClosed(
            gettext("This deck closed on %(when)s.") % {"when": local_format(window.closes_at, zone)}, "closed"
        )


def dates_check(*, opens_at: datetime | None, due_at: datetime | None, closes_at: datetime | None) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise DatesInvalid("The close time must be after the open time.")
    if opens_at and due_at and due_at <= opens_at:
        raise DatesInvalid("The due time must be after the open time.")
    if due_at and closes_at and closes_at < due_at:
        raise DatesInvalid("The close time cannot be before the due time.")


@transaction.atomic
def deck_dates_update(
    *, deck: Deck, actor: LtiUser, opens_at: datetime | None, due_at: datetime | None, closes_at: datetime | None
) -> Deck:
    dates_check(opens_at=opens_at, due_at=due_at, closes_at=closes_at)
    before = {f: _iso(getattr(deck, f)) for f in ("opens_at", "due_at", "closes_at")}
    deck.opens_at, deck.due_at, deck.closes_at = opens_at, due_at, closes_at
    deck.save(update_fields=["opens_at", "due_at", "closes_at", "updated_at"])
    audit_record(
        actor_type="user",
        actor_id=str(actor.pk),
        action="flashcards.deck.dates",
        object_type="flashcard_deck",
        object_id=deck.pk,
        before=before,
        after={f: _iso(getattr(deck, f)) for f in ("opens_at", "due_at", "closes_at")},
    )
    return deck


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
