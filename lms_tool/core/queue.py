"""Enqueue a Celery task by its registered name, so a service never imports its app's tasks module.

Tasks import services; services reach tasks only through here (docs/architecture.md, "Layers"): no
import cycle, even a lazy one. ``apply_async`` on the registered task still honours eager mode.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from celery import current_app


def task_send(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send the task registered as ``name``; raises kombu's ``OperationalError`` when the broker is down."""
    tasks = current_app.tasks
    if name not in tasks:
        # A web process registers tasks only as their modules get imported (a worker imports them all at start).
        _tasks_imported()
    tasks[name].apply_async(args, kwargs or None, countdown=countdown)


@functools.cache
def _tasks_imported() -> None:
    """Import every installed app's ``tasks`` module once, as the worker's autodiscovery does.

    Not through Celery's loader (``import_default_modules``): its import signal makes Celery's Django fixup run
    ``django.setup()`` and every system check again, inside the request that sends the process's first task, and
    ``django.setup()`` configures logging anew, dropping every handler added to the root logger since. Nor the
    loader's ``autodiscover_tasks``: a second thread calling it while the first imports gets nothing back (Celery's
    ``_RACE_PROTECTION``), and its task would not be registered yet; ``importlib`` makes that thread wait instead."""
    from django.apps import apps

    for config in apps.get_app_configs():
        module = f"{config.name}.tasks"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as missing:
            if missing.name != module:  # the tasks module exists and an import inside it failed: say so
                raise
