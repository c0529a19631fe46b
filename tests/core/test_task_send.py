"""The first task a web process sends registers the tasks without setting Django up again (lms_tool/core/queue.py)."""

from __future__ import annotations

import json
from pathlib import Path

from .test_settings_startup import run

PROBE = """
import json
import logging

import lti_config.wsgi  # a web process, as gunicorn loads it
from celery import current_app
from django.core import checks

checks_run = []
run_checks = checks.run_checks
checks.run_checks = lambda *args, **kwargs: checks_run.append(1) or run_checks(*args, **kwargs)
added = logging.NullHandler()
logging.getLogger().addHandler(added)  # as a log collector (or pytest's caplog) adds one

from lms_tool.core.queue import task_send

name = "lms_tool.roster.tasks.roster_sync_task"
registered_before = name in current_app.tasks
task_send(name, 0, False)
print(json.dumps({
    "registered_before": registered_before,
    "registered_after": name in current_app.tasks,
    "handler_kept": added in logging.getLogger().handlers,
    "checks_run": len(checks_run),
}))
"""


def test_the_first_task_sent_keeps_the_logging_setup_and_runs_no_system_checks(tmp_path: Path) -> None:
    # No REDIS_URL: the message goes to the filesystem broker under this test's own VAR_DIR.
    done = run(["-c", PROBE], tmp_path, LMS_TOOL_MODE="test", DJANGO_SETTINGS_MODULE="lti_config.settings")

    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe == {"registered_before": False, "registered_after": True, "handler_kept": True, "checks_run": 0}
