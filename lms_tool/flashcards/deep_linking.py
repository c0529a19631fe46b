"""Decks as an activity source of the Deep Linking picker (LTI Deep Linking 2.0 §3.1 ``ltiResourceLink`` items),
and as a section of the staff course home."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from lms_tool.lti.course_home import CourseItem, CourseSection, register_course_section
from lms_tool.lti.decorators import page_url
from lms_tool.lti.deep_linking import (
    ItemWindow,
    PickableItem,
    ReviewTable,
    SubmissionReview,
    register_activity_source,
)
from lms_tool.lti.models import LtiUser
from lms_tool.lti.types import LtiLaunch

from . import grades, selectors
from .access import locate, open_url
from .models import Card, CardState, Deck, DeckGrade


def _cards(count: int) -> str:
    return ngettext("%(count)d card", "%(count)d cards", count) % {"count": count}


def deck_item_window(deck: Deck) -> ItemWindow | None:
    """The deck's dates for the Deep Linking item: studied from ``opens_at`` to ``closes_at`` (windows.py)."""
    if not (deck.opens_at or deck.due_at or deck.closes_at):
        return None
    return ItemWindow(available_start=deck.opens_at, available_end=deck.closes_at, due_at=deck.due_at)


def list_items(launch: LtiLaunch) -> list[PickableItem]:
    """The course's published decks, each embedded as an activity routed by ``activity=deck:<id>``, graded by the
    rule its instructor chose (``Deck.grading_rule``)."""
    if launch.context_pk is None:
        return []
    return [
        PickableItem(
            kind="deck",
            id=str(deck.pk),
            title=deck.title,
            # An ungraded deck gets no gradebook column (no lineItem); a graded one its rule, said in words.
            score_maximum=grades.SCORE_MAXIMUM if grades.is_graded(deck) else 0,
            resource_id=f"deck:{deck.pk}",
            tag="flashcards",
            text=f"{_cards(deck.approved_count)} · {deck.grading_description}",  # type: ignore[attr-defined]
            submission_review=grades.is_graded(deck),
            window=deck_item_window(deck),
        )
        for deck in selectors.decks_counted(launch=launch, published_only=True)
    ]


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "\u2014"


def review(launch: LtiLaunch, item_id: str, learner: LtiUser) -> SubmissionReview:
    """A grader's view of one learner's deck progress (LTI Submission Review 1.0): the grade the rule gives now,
    what was last sent to the gradebook, and each card's memory state."""
    deck = Deck.objects.get(pk=int(item_id), context_id=launch.context_pk or 0)
    now = timezone.now()
    progress = grades.deck_progress(deck=deck, learner=learner, now=now)
    posted = DeckGrade.objects.filter(deck=deck, learner=learner).order_by("-posted_at").first()
    summary = [
        ("Grading rule", deck.grading_description),
        ("Cards studied", f"{progress.studied} of {progress.total}"),
        (
            "Grade by the rule now",
            f"{progress.share * grades.SCORE_MAXIMUM:.0f} / {grades.SCORE_MAXIMUM:.0f}"
            if grades.is_graded(deck) and progress.studied
            else "None (no card studied yet)"
            if grades.is_graded(deck)
            else "Not graded",
        ),
        (
            "Last sent to the gradebook",
            f"{posted.posted_progress * grades.SCORE_MAXIMUM:.0f} / {grades.SCORE_MAXIMUM:.0f} at {_when(posted.posted_at)}"
            if posted is not None and posted.posted_progress is not None
            else "Nothing yet",
        ),
    ]
    states = {
        s.card_id: s for s in CardState.objects.filter(deck=deck, learner=learner, card__status=Card.Status.APPROVED)
    }
    rows = []
    for card in Card.objects.approved().filter(deck=deck):
        state = states.get(card.pk)
        rows.append(
            [card.front[:120], "Not studied"]
            if state is None
            else [
                card.front[:120],
                state.get_state_display(),
                str(state.reps),
                str(state.lapses),
                _when(state.last_review),
                _when(state.due),
            ]
        )
    rows = [row + [""] * (6 - len(row)) for row in rows]
    table = ReviewTable("Cards", ["Card", "State", "Reviews", "Lapses", "Last review", "Due"], rows)
    return SubmissionReview(
        activity=deck.title,
        summary=summary,
        tables=[table] if progress.studied else [],
        empty="This learner has not studied any card of the deck yet.",
    )


def course_items(launch: LtiLaunch) -> list[CourseItem]:
    """The course's decks for its staff, drafts included, with the cards still awaiting approval."""
    items = []
    for deck in selectors.decks_counted(launch=launch):
        text = _cards(deck.approved_count)  # type: ignore[attr-defined]
        if deck.proposed_count:  # type: ignore[attr-defined]
            text += " · " + gettext("%(count)d awaiting approval") % {"count": deck.proposed_count}  # type: ignore[attr-defined]
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
        kind="deck",
        label=gettext_lazy("Flashcard decks"),
        list_items=list_items,
        open_url=open_url,
        locate=locate,
        review=review,
    )
    register_course_section(
        CourseSection(
            kind="deck",
            label=gettext_lazy("Flashcard decks"),
            items=course_items,
            new_label=gettext_lazy("Create a new deck"),
            new_url=new_url,
        )
    )
