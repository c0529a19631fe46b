from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import bio, chem, make_api, registration  # noqa: F401 - shared fixtures

from .receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def loopback_allowed(settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.WEBHOOKS = {**settings.WEBHOOKS, "MAX_ATTEMPTS": 4, "RETRY_BASE_SECONDS": 0.01, "TIMEOUT_SECONDS": 5}
