from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def generation_run_task(run_id: int) -> None:
    from .services import generation_execute

    generation_execute(run_id=run_id)


@shared_task
def attempts_close_expired_task() -> int:
    from .services import attempts_close_expired

    return attempts_close_expired()


@shared_task
def generation_runs_fail_stuck_task() -> int:
    """Beat: a run still queued or running long after any generation takes (its worker died, its message
    was lost) is marked failed with a reason the instructor can act on, instead of spinning for ever."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from .models import GenerationRun

    minutes = settings.GENERATION_STUCK_SECONDS // 60
    return GenerationRun.objects.filter(
        state__in=[GenerationRun.State.QUEUED, GenerationRun.State.RUNNING],
        created_at__lt=timezone.now() - timedelta(seconds=settings.GENERATION_STUCK_SECONDS),
    ).update(
        state=GenerationRun.State.FAILED,
        error=f"The generation did not finish within {minutes} minutes (the tool's worker stopped); start it again.",
        finished_at=timezone.now(),
    )
