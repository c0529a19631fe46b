"""Reads of grade passback: the review queue, the dead letters, what is due to be posted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from lms_tool.lti.models import Context

from .models import PassbackState, ReviewState, Score

# A course, a set or queryset of courses, or None for every course.
Contexts = Context | Iterable[Context] | QuerySet[Context] | None


def _in(scores: QuerySet[Score], contexts: Contexts) -> QuerySet[Score]:
    if contexts is None:
        return scores
    if isinstance(contexts, Context):
        return scores.filter(resource_link__context=contexts)
    return scores.filter(resource_link__context__in=contexts)


def scores_needing_review(*, contexts: Contexts) -> QuerySet[Score]:
    """AI grades waiting for an instructor in ``contexts`` (a course, some courses, or None for all), oldest
    first; a grade a newer score of the same learner has replaced is not worth a review."""
    newer = Score.objects.filter(line_item=OuterRef("line_item"), user=OuterRef("user"), pk__gt=OuterRef("pk"))
    return (
        _in(Score.objects.filter(review_state=ReviewState.NEEDS_REVIEW), contexts)
        .exclude(passback_state=PassbackState.SUPERSEDED)
        .exclude(Exists(newer.exclude(passback_state=PassbackState.SUPERSEDED)))
        .select_related("user", "resource_link", "line_item")
        .order_by("created_at", "id")
    )


def scores_dead(*, contexts: Contexts) -> QuerySet[Score]:
    """Scores the platform would not take (retries exhausted or refused) in ``contexts`` (None: all)."""
    return _in(Score.objects.dead_letters(), contexts).select_related("user", "resource_link", "line_item")


def score_ids_due(*, before: datetime, limit: int = 1000) -> list[int]:
    """Pending scores whose next attempt is due before ``before`` (the sweep's lost or stuck ones)."""
    return list(Score.objects.due(before).order_by("next_attempt_at").values_list("id", flat=True)[:limit])
