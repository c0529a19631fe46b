"""The Celery application; configuration comes from Django settings (``CELERY_*``), queues from here.

Tasks go to four queues by urgency, each served by its own worker pool in production
(docker-compose.yml; sizing in docs/production.md, "Outages and queues"), so a flood of failing
webhook deliveries or a long AI generation never waits in front of a grade:

* ``passback``: grade passback and roster syncs (a dropped student loses access through them);
* ``generation``: AI generation of quiz questions and flashcards (minutes each);
* ``webhooks``: signed webhook fan-out and deliveries, and xAPI statements to an LRS (retries of a failing
  subscriber or LRS pile up here);
* ``housekeeping``: the beat's sweeps, purges and the optimiser; anything not routed lands here.
"""

import os
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import beat_init, celeryd_init, task_postrun, task_prerun
from celery.worker.request import Request
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lti_config.settings")

QUEUES = ("passback", "generation", "webhooks", "housekeeping")


class AckOrReconnectRequest(Request):
    """A task request whose failed acknowledgement makes the worker reconnect.

    kombu logs a failed ack ("Couldn't ack ..., reason: TimeoutError") and carries on; the message then
    still counts against the prefetch limit, so a worker with prefetch 1 never fetches again after a
    broker connection that went silent mid-ack: alive, connected, idle for good. Letting the
    connection error propagate (as kombu already does for BrokenPipeError) makes the consumer drop
    the connection and start afresh; the unacknowledged message comes back after the visibility
    timeout and the tasks are idempotent. tests/core/test_worker_outages.py cuts the broker to show it.
    """

    def acknowledge(self) -> None:
        if not self.acknowledged:  # type: ignore[has-type]
            self._on_ack(self._logger, ())  # no error class swallowed
            self.acknowledged = True

    @property
    def _logger(self) -> Any:
        from celery.worker.request import logger

        return logger


class ResilientTask(Task):  # type: ignore[misc]
    Request = AckOrReconnectRequest


app = Celery("lms_tool", task_cls=ResilientTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
# kombu's filesystem transport (the embedded default) needs its message folders to exist.
for _folder in ("data_folder_in", "data_folder_out"):
    if _folder in (app.conf.broker_transport_options or {}):
        Path(app.conf.broker_transport_options[_folder]).mkdir(parents=True, exist_ok=True)
# Declared, so a worker started without --queues consumes all four (as `make run`'s does).
app.conf.task_queues = [Queue(name, Exchange(name), routing_key=name) for name in QUEUES]
app.conf.task_default_queue = "housekeeping"
app.conf.task_routes = {
    "grading.score_post": {"queue": "passback"},
    "lms_tool.roster.tasks.roster_sync_task": {"queue": "passback"},
    "lms_tool.quizzes.tasks.generation_run_task": {"queue": "generation"},
    "flashcards.generation_run": {"queue": "generation"},
    "lms_tool.webhooks.tasks.webhook_fan_out": {"queue": "webhooks"},
    "lms_tool.webhooks.tasks.webhook_deliver": {"queue": "webhooks"},
    "lms_tool.xapi.tasks.xapi_send": {"queue": "webhooks"},
}
app.autodiscover_tasks()


# This module is imported by every Django process (lti_config/__init__.py), so the start-up check runs
# only when a worker or beat really starts. Celery logs and ignores exceptions raised by signal handlers;
# SystemExit is not caught, so the process stops with the message.
@celeryd_init.connect
@beat_init.connect
def _keys_required(**_: Any) -> None:
    from lti_config.startup import keys_required

    try:
        keys_required()
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from None


@task_prerun.connect
@task_postrun.connect
def _connections_checked(sender: Task | None = None, **_: Any) -> None:
    """Around each task, what Django does around each request: close a connection past ``CONN_MAX_AGE`` or broken,
    keep the others (settings.CELERY_DB_REUSE_MAX turns off the fixup's close of every connection). An eager
    task runs inside its caller, whose transaction may be open: not there."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
