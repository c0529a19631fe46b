"""Deck progress to the gradebook, by the grading rule the instructor chose for the deck (``Deck.GradingRule``).

- Not graded: nothing is posted, and the Deep Linking item carries no line item.
- Completion: the share of the deck's approved cards the learner has studied (rated) at least once.
- Recall: the share of the deck's approved cards whose predicted recall today (FSRS retrievability from the
  learner's memory state) is at least the deck's grading threshold. The threshold is the instructor's grading
  bar, not the deck's desired retention, which only decides when cards fall due.

What is posted follows AGS §3.4 honestly: nothing for a learner who has not rated a card (their column stays
empty, not 0 "FullyGraded"); once they have, the current share is the score, FullyGraded, with
activityProgress InProgress until every card has been studied, then Completed. If their study disappears
(cards removed) after something was posted, the column is reset with Initialized / NotReady and no score.

Debounced: a rating posts at once unless this learner's column was posted less than ``GRADE_INTERVAL_SECONDS``
ago (30 s by default); then it is marked dirty and the periodic ``grades_flush`` (every
``GRADE_INTERVAL_SECONDS / 2``) posts the latest progress, so a rating reaches the gradebook within a minute
while at most one post per learner and deck is made per interval. Under the recall rule, memories fade
without any rating: the flush also recomputes those columns every ``GRADE_REFRESH_SECONDS`` (an hour).
docs/production.md explains the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lms_tool.lti.models import LtiUser, ResourceLink

from . import selectors
from .models import Card, CardState, Deck, DeckGrade

SCORE_MAXIMUM = 100.0
Rule = Deck.GradingRule


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, "FLASHCARDS", {}).get(name, default))


def grade_interval() -> timedelta:
    """The debounce: at most one post per learner and deck column within it."""
    return timedelta(seconds=_setting("GRADE_INTERVAL_SECONDS", 30))


def refresh_interval() -> timedelta:
    """How often a recall-graded column is recomputed without a rating (memories fade)."""
    return timedelta(seconds=_setting("GRADE_REFRESH_SECONDS", 3600))


def is_graded(deck: Deck) -> bool:
    return deck.grading_rule != Rule.NONE


def rule_text(deck: Deck) -> str:
    """How the deck's gradebook column is computed, in words for the instructor (picker, deck page)."""
    return deck.grading_description


@dataclass(frozen=True)
class Progress:
    share: float  # 0..1, the score / 100
    studied: int  # approved cards rated at least once
    total: int  # approved cards


def deck_progress(*, deck: Deck, learner: LtiUser, now: datetime) -> Progress:
    """The learner's progress in ``deck`` under its grading rule."""
    total = Card.objects.approved().filter(deck=deck).count()
    states = CardState.objects.filter(
        deck=deck, learner=learner, card__status=Card.Status.APPROVED, last_review__isnull=False
    )
    studied = states.count()
    if not total:
        return Progress(0.0, 0, 0)
    if deck.grading_rule == Rule.RECALL:
        arrays = selectors._arrays(states)
        # The default forgetting curve, not the learner's fitted one: a refit must not move a posted grade
        # (optimizer, docs/flashcards.md "Fitted memory"); the stability is still the learner's own.
        r_now, _ = selectors._predict(arrays, now, 0, personal=False)
        # A hair of tolerance: a threshold of 0.9 must count a recall computed as 0.8999999.
        known = int((r_now >= deck.grading_threshold - 1e-9).sum())
        return Progress(known / total, studied, total)
    return Progress(studied / total, studied, total)


def _post(grade: DeckGrade, progress: Progress, now: datetime) -> bool:
    """Send the column's new value; False when there is nothing honest to send (never studied, never posted)."""
    from lms_tool.grading.services import score_submit  # the grading app posts it after our commit

    deck = grade.deck
    if progress.studied == 0:
        if grade.posted_progress is None:
            return False
        # AGS §3.4.7-3.4.8: no score yet, and the activity not started: the platform clears the column.
        score_given, activity, comment = None, "Initialized", "No card of the deck studied yet."
    else:
        score_given = round(progress.share * SCORE_MAXIMUM, 2)
        activity = "Completed" if progress.studied >= progress.total else "InProgress"
        comment = (
            f"{progress.studied} of {progress.total} cards studied."
            if deck.grading_rule == Rule.COMPLETION
            else f"{progress.share:.0%} of the deck's cards recalled today at {deck.grading_threshold:.0%} or better "
            f"({progress.studied} of {progress.total} studied)."
        )
    score_submit(
        user=grade.learner,
        resource_link=grade.resource_link,
        score_given=score_given,
        score_maximum=SCORE_MAXIMUM,
        activity_progress=activity,
        source="automatic",
        comment=comment,
        line_item_label=deck.title,
        line_item_resource_id=f"deck:{deck.pk}",
        line_item_tag="flashcards",
        line_item_end=deck.due_at,
    )
    # After a reset nothing is in the column: the next rating posts again, as a first one would.
    grade.posted_progress, grade.posted_at = (progress.share if progress.studied else None), now
    return True


@transaction.atomic
def progress_record(
    *, deck: Deck, learner: LtiUser, resource_link: ResourceLink, now: datetime | None = None
) -> DeckGrade | None:
    """After a rating: post the new progress unless one was posted within the debounce, else mark it dirty for
    the flush. None for a deck that is not graded."""
    if not is_graded(deck):
        return None
    now = now or timezone.now()
    grade, _ = DeckGrade.objects.get_or_create(deck=deck, learner=learner, resource_link=resource_link)
    grade = DeckGrade.objects.select_for_update().select_related("deck", "learner", "resource_link").get(pk=grade.pk)
    if grade.posted_at is not None and now - grade.posted_at < grade_interval():
        if not grade.dirty:
            DeckGrade.objects.filter(pk=grade.pk).update(dirty=True)
            grade.dirty = True
        return grade
    return _recompute_and_post(grade, now)


def _recompute_and_post(grade: DeckGrade, now: datetime) -> DeckGrade:
    progress = deck_progress(deck=grade.deck, learner=grade.learner, now=now)
    grade.progress = progress.share
    if grade.posted_progress is None or abs(progress.share - grade.posted_progress) > 1e-9 or not progress.studied:
        _post(grade, progress, now)
    grade.dirty = False
    grade.save(update_fields=["progress", "posted_progress", "posted_at", "dirty"])
    return grade


def _due(now: datetime) -> Q:
    debounced = Q(dirty=True) & (Q(posted_at__isnull=True) | Q(posted_at__lte=now - grade_interval()))
    fading = Q(deck__grading_rule=Rule.RECALL, posted_at__lte=now - refresh_interval())
    return (debounced | fading) & ~Q(deck__grading_rule=Rule.NONE)


def grades_flush(*, now: datetime | None = None, limit: int = 500) -> int:
    """Post the columns whose progress changed since the debounce (ratings) or may have (fading recall)."""
    now = now or timezone.now()
    due = _due(now)
    ids = list(DeckGrade.objects.filter(due).order_by("posted_at").values_list("pk", flat=True)[:limit])
    posted = 0
    for pk in ids:
        with transaction.atomic():
            grade = (
                DeckGrade.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("deck", "learner", "resource_link")
                .filter(due, pk=pk)
                .first()
            )
            if grade is None:
                continue  # posted meanwhile by a rating
            before = grade.posted_at
            _recompute_and_post(grade, now)
            posted += grade.posted_at != before
    return posted
