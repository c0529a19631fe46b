"""A real Celery worker process, for the tests whose behaviour depends on one (PostgreSQL + Redis).

The worker shares the test database (so its tests use ``transactional_db``) and the test's Redis
broker; its output is read by a thread, so a chatty worker can never block on a full pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]

needs_worker_services = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
    reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): the worker is another process sharing both",
)


@dataclass
class Worker:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def output(self, last: int = 3000) -> str:
        return "".join(self.lines)[-last:]


def database_url() -> str:
    """The test database, as a DATABASE_URL for the worker process."""
    s = connection.settings_dict
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate: Callable[[], object], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@contextmanager
def celery_worker(
    *,
    env: dict[str, str] | None = None,
    pool: str = "solo",
    concurrency: int = 1,
    queues: tuple[str, ...] | None = None,
    purge: bool = True,
) -> Iterator[Worker]:
    """Start ``celery -A lti_config worker`` on the test database, consuming ``queues`` (all of them
    unless told, as ``make run``'s worker does); yield it once it is ready."""
    from lti_config.celery import QUEUES, app

    if purge:  # messages queued by earlier tests name rows this database does not have
        with app.connection_for_write() as conn:
            for queue in QUEUES:
                conn.default_channel.queue_purge(queue)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lti_config",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--queues=" + ",".join(queues or QUEUES),
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        # The worker calls the test platforms on loopback, which core.http refuses unless listed.
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = Worker(process)
    threading.Thread(target=lambda: worker.lines.extend(iter(process.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        ready = wait_for(lambda: any(" ready." in line for line in worker.lines) or process.poll() is not None)
        assert ready and process.poll() is None, "the worker did not start:\n" + worker.output()
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
