"""Tenant A's world, built once for this package over real HTTP, and kept for every test in it.

pytest-django's ``live_server`` makes each test transactional (the database is flushed after it), and
the shared ``_fresh_state`` clears the cache (where launches live) after each test. Tests that use
``world`` get their own live server instead; each test runs in a transaction rolled back after it (on
SQLite the live server shares the test's connection), and the package's end flushes the database
and the cache, as a transactional test would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from lms_tool.lti import keys, platform_keys, service_client

from .world import World, build


def _forget_process_state() -> None:
    platform_keys.forget()
    service_client.forget()
    keys.forget()


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """As tests/conftest.py's, but never clearing the cache: the package's ``world`` keeps its launches
    there, and with Redis a clear is not rolled back with the test (the package's end clears it)."""
    if "world" not in request.fixturenames:
        _forget_process_state()
    yield


def _stop(server: LiveServer) -> None:
    """LiveServer.stop() without unsharing the SQLite in-memory connection: requests' kept-alive
    connections end their server threads later, and those close (a no-op for an in-memory database)
    the shared connection, which must still allow it."""
    server.thread.terminate()


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:  # type: ignore[no-untyped-def]
    from lti_config.celery import app

    settings = override_settings(
        AI={"BASE_URL": "", "MODEL": ""},
        GRADING_PASSBACK_ENABLED=False,
        HTTP_ALLOWED_PRIVATE_HOSTS=["127.0.0.1", "localhost"],
    )
    with django_db_blocker.unblock():
        _forget_process_state()
        cache.clear()
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        settings.enable()
        eager = app.conf.task_always_eager
        built = None
        try:
            app.conf.task_always_eager = True
            built = build(server.url)
            app.conf.task_always_eager = eager
            yield built
        finally:
            app.conf.task_always_eager = eager
            if built is not None:
                built.a.server.stop()
                built.b.server.stop()
            _stop(server)
            settings.disable()
            server._live_server_modified_settings.disable()
            call_command("flush", interactive=False, verbosity=0)
            cache.clear()
            _forget_process_state()
