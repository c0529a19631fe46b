"""Reads of grade passback: the review queue, the dead letters, what is due to be posted."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from lms_tool.lti.models import Context

from .models import PassbackState, ReviewState, Score


def scores_needing_review(*, context: Context) -> QuerySet[Score]:
    """AI grades of the course waiting for an instructor, oldest first; a grade a newer score of the
    same learner has replaced is not worth a review."""
    newer = Score.objects.filter(line_item=OuterRef("line_item"), user=OuterRef("user"), pk__gt=OuterRef("pk"))
    return (
        Score.objects.filter(resource_link__context=context, review_state=ReviewState.NEEDS_REVIEW)
        .exclude(passback_state=PassbackState.SUPERSEDED)
        .exclude(Exists(newer.exclude(passback_state=PassbackState.SUPERSEDED)))
        .select_related("user", "resource_link", "line_item")
        .order_by("created_at", "id")
    )


def scores_dead(*, context: Context | None = None) -> QuerySet[Score]:
    scores = Score.objects.dead_letters()
    return scores.filter(resource_link__context=context) if context is not None else scores


def score_ids_due(*, before: datetime, limit: int = 1000) -> list[int]:
    """Pending scores whose next attempt is due before ``before`` (the sweep's lost or stuck ones)."""
    return list(Score.objects.due(before).order_by("next_attempt_at").values_list("id", flat=True)[:limit])
