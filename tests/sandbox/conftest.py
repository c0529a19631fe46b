"""The sandbox `make run` opens, served in-process against the live tool (pytest-django's live_server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from lms_tool.sandbox.embedded import SandboxServer


@pytest.fixture
def sandbox(tool_url: str) -> Iterator[SandboxServer]:
    """Both sandbox platforms, seeded and registered in the tool's database as `make run` does."""
    server = SandboxServer(tool_url=tool_url)
    server.register()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run in the process that queues them, after its transaction commits.

    What the live server writes is visible only inside this process (SQLite in memory; on PostgreSQL,
    the test's own transaction), so a worker process could not read the attempt whose score it should
    post. Eager tasks run the same task code (generation, score posting) in the live server's thread.
    The real worker (filesystem broker) is exercised by `make run` itself, and against Redis and
    PostgreSQL by tests/grading/test_worker.py.
    """
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (the tool is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
