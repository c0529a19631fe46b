"""Deck progress to the gradebook: posted as a FullyGraded automatic score, at most once per interval.

Progress is the share of the deck's cards that the learner has in Review state and would recall at or above
the deck's desired retention now (``selectors.deck_progress``). It rises with study and falls as memories
fade, so the periodic ``grades_flush`` re-posts it when it has changed, never more often than the interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lms_tool.lti.models import LtiUser, ResourceLink

from . import selectors
from .models import Deck, DeckGrade

SCORE_MAXIMUM = 100.0


def grade_interval() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "FLASHCARDS", {}).get("GRADE_INTERVAL_SECONDS", 3600)))


def _post(grade: DeckGrade, now: datetime) -> None:
    from lms_tool.grading.services import score_submit  # the grading app posts it after our commit

    deck = grade.deck
    score_submit(
        user=grade.learner,
        resource_link=grade.resource_link,
        score_given=round(grade.progress * SCORE_MAXIMUM, 2),
        score_maximum=SCORE_MAXIMUM,
        activity_progress="Completed" if grade.progress >= 1 else "InProgress",
        source="automatic",
        comment=f"{grade.progress:.0%} of the deck's cards remembered at {deck.desired_retention:.0%} or better.",
        line_item_label=deck.title,
        line_item_resource_id=f"deck:{deck.pk}",
        line_item_tag="flashcards",
    )
    grade.posted_progress, grade.posted_at, grade.dirty = grade.progress, now, False


@transaction.atomic
def progress_record(
    *, deck: Deck, learner: LtiUser, resource_link: ResourceLink, now: datetime | None = None
) -> DeckGrade:
    """After a rating: post the new progress if the interval allows, else mark it for the periodic flush."""
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
    grade.progress = selectors.deck_progress(deck=grade.deck, learner=grade.learner, now=now)
    if grade.posted_progress is None or abs(grade.progress - grade.posted_progress) > 1e-9:
        _post(grade, now)
    grade.dirty = False
    grade.save(update_fields=["progress", "posted_progress", "posted_at", "dirty"])
    return grade


def grades_flush(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-post progress that changed (by study or by forgetting) once the interval has passed; returns posts."""
    now = now or timezone.now()
    stale = Q(posted_at__isnull=True) | Q(posted_at__lte=now - grade_interval())
    ids = list(DeckGrade.objects.filter(stale).order_by("posted_at").values_list("pk", flat=True)[:limit])
    posted = 0
    for pk in ids:
        with transaction.atomic():
            grade = (
                DeckGrade.objects.select_for_update(skip_locked=True)
                .select_related("deck", "learner", "resource_link")
                .filter(stale, pk=pk)
                .first()
            )
            if grade is None:
                continue  # posted meanwhile by a rating
            before = grade.posted_at
            _recompute_and_post(grade, now)
            posted += grade.posted_at != before
    return posted
