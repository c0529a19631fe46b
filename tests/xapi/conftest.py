"""xAPI fixtures: one Ralph LRS for the session, and a registration whose statements go to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.lti.models import Registration
from lms_tool.xapi import services
from lms_tool.xapi.models import ActorFormat, LrsEndpoint

from .ralph import PASSWORD, USER, Ralph


@pytest.fixture(scope="session")
def ralph() -> Iterator[Ralph]:
    lrs = Ralph().start()
    yield lrs
    lrs.stop()


@pytest.fixture(autouse=True)
def _xapi_settings(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}  # the offline provider writes the quizzes
    settings.GRADING_PASSBACK_ENABLED = False  # scores stay in their outbox: these tests are about statements
    settings.XAPI = {
        **settings.XAPI,
        "ACTIVITY_BASE_URL": "https://tool.example.edu",
        "RETRY_BASE_SECONDS": 0.01,
        "RETRY_CAP_SECONDS": 0.05,
        "MAX_ATTEMPTS": 4,
        "TIMEOUT_SECONDS": 5,
        "SEND_DELAY_SECONDS": 0,
    }
    services.listening_forget()
    yield
    services.listening_forget()


def lrs_connect(
    registration: Registration, url: str, *, actor_format: str = ActorFormat.ACCOUNT, batch_size: int = 50
) -> LrsEndpoint:
    endpoint = LrsEndpoint(registration=registration, url=url, actor_format=actor_format, batch_size=batch_size)
    return services.endpoint_save(endpoint=endpoint, key=USER, secret=PASSWORD)


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run in the caller (the live server's thread) after the transaction commits: the
    statements go to the LRS before the page answers."""
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
