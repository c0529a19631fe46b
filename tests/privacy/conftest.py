from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography.fernet import Fernet

from lms_tool.core import crypto
from tests.api.conftest import bio, chem, make_api, registration  # noqa: F401 - shared fixtures


@pytest.fixture
def use_keys(settings) -> Iterator[Callable[..., None]]:  # type: ignore[no-untyped-def]
    """``use_keys(k1, k2)``: encrypt with k1, decrypt with either (crypto caches its MultiFernet)."""

    def use(*keys: str) -> None:
        settings.FIELD_ENCRYPTION_KEYS = list(keys)
        crypto.forget()

    yield use
    crypto.forget()


@pytest.fixture
def new_key() -> Callable[[], str]:
    return lambda: Fernet.generate_key().decode()
