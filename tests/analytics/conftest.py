from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _analytics_settings(settings):  # type: ignore[no-untyped-def]
    """The offline provider; scores stay in the outbox (the tests read them there)."""
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False
