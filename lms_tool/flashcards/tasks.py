"""Celery tasks: ids in, load, call the service."""

from __future__ import annotations

from celery import shared_task

from . import grades, optimizer, services
from .models import DeckGeneration


@shared_task(name="flashcards.generation_run")
def generation_run_task(generation_pk: int) -> str:
    generation = DeckGeneration.objects.select_related("deck").filter(pk=generation_pk).first()
    if generation is None:
        return "gone"
    return services.generation_run(generation=generation).status


@shared_task(name="flashcards.grades_flush")
def grades_flush_task() -> int:
    return grades.grades_flush()


@shared_task(name="flashcards.optimize_parameters")
def optimize_parameters_task() -> int:
    return optimizer.parameters_fit_due()


@shared_task(name="flashcards.generations_fail_stuck")
def generations_fail_stuck_task() -> int:
    """Beat: a generation still pending long after any generation takes (its worker died, its message was
    lost) is marked failed with a reason the instructor can act on."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    minutes = settings.GENERATION_STUCK_SECONDS // 60
    return DeckGeneration.objects.filter(
        status=DeckGeneration.Status.PENDING,
        created_at__lt=timezone.now() - timedelta(seconds=settings.GENERATION_STUCK_SECONDS),
    ).update(
        status=DeckGeneration.Status.FAILED,
        error=f"The generation did not finish within {minutes} minutes (the tool's worker stopped); start it again.",
        finished_at=timezone.now(),
    )
