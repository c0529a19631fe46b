"""Under pytest-xdist each worker has services of its own (tests/mode.py): the cache clear of one
worker's tests empties a whole Redis database, and a real Celery worker takes any task on its broker."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.mode import GIVEN, redis_db_shifted


@pytest.mark.parametrize(
    ("url", "by", "shifted"),
    [
        ("redis://127.0.0.1:6379/5", 1, "redis://127.0.0.1:6379/6"),
        ("redis://127.0.0.1:6379", 2, "redis://127.0.0.1:6379/2"),  # no number names database 0
        ("rediss://:pw@redis.internal:6380/3", 0, "rediss://:pw@redis.internal:6380/3"),
    ],
)
def test_a_worker_shifts_the_redis_database_number(url: str, by: int, shifted: str) -> None:
    assert redis_db_shifted(url, by) == shifted


def test_this_worker_has_its_own_var_dir_cache_prefix_and_broker() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:  # a serial run shares nothing, so there is nothing to tell apart
        return
    assert settings.VAR_DIR.name == worker
    assert settings.CACHES["default"]["KEY_PREFIX"].endswith(f"-{worker}")
    if settings.REDIS_URL:  # the cache and the broker on Redis database given + N
        assert redis_db_shifted(GIVEN["REDIS_URL"], int(worker.removeprefix("gw"))) == settings.REDIS_URL
        assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    else:
        assert str(settings.VAR_DIR) in str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
