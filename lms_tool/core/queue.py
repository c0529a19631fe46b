"""Enqueue a Celery task by its registered name, so a service never imports its app's tasks module.

Tasks import services; services reach tasks only through here (docs/architecture.md, "Layers"): no
import cycle, even a lazy one. ``apply_async`` on the registered task still honours eager mode.
"""

from __future__ import annotations

from typing import Any

from celery import current_app


def task_send(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send the task registered as ``name``; raises kombu's ``OperationalError`` when the broker is down."""
    tasks = current_app.tasks
    if name not in tasks:
        # A web process registers tasks only as their modules get imported; this runs the app's
        # autodiscovery of every installed app's tasks module once (a worker does it at start).
        current_app.loader.import_default_modules()
    tasks[name].apply_async(args, kwargs or None, countdown=countdown)
