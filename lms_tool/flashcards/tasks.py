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
