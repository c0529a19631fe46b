from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _quiz_settings(settings):  # type: ignore[no-untyped-def]
    """The offline provider; scores stay in the outbox unless a test posts them itself."""
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run in the caller (the live server's thread), after the transaction commits."""
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def chat_server():  # type: ignore[no-untyped-def]
    from ..ai.chat_server import ChatServer

    server = ChatServer().start()
    yield server
    server.stop()
