from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.ai import moderation

from ..ai.chat_server import ChatServer


@pytest.fixture(autouse=True)
def _settings(settings):  # type: ignore[no-untyped-def]
    """The offline provider unless a test points AI at the chat server; scores stay in the outbox."""
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False
    moderation.endpoint_forget()


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run in the caller (the live server's thread), after the transaction commits."""
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def model_on(settings, server: ChatServer) -> None:  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": server.base_url, "MODEL": "test-model", "MAX_RETRIES": 0, "TIMEOUT_SECONDS": 5}
