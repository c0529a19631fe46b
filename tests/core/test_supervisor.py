"""`make run`'s launcher starts its Celery worker (and beat) again when it dies."""

from __future__ import annotations

import sys
import time

from lms_tool.launcher.supervisor import Supervised


def test_a_worker_that_dies_is_started_again_and_the_restart_is_said():
    said: list[str] = []
    child = Supervised([sys.executable, "-c", "import sys; sys.exit(3)"], env={}, name="worker", err=said.append)
    first = child.process
    try:
        deadline = time.monotonic() + 10
        while child.process is first and time.monotonic() < deadline:
            child.check()
            time.sleep(0.05)
    finally:
        child.stop()

    assert child.process is not first
    assert said and "worker exited (code 3)" in said[0] and "starting it again" in said[0]
