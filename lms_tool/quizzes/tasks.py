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
