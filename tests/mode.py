"""Loaded with ``-p tests.mode`` (pyproject.toml) before Django reads its settings: pytest runs in the
explicit test mode (a fixed test secret, no keys needed), as `make test` does (lti_config/startup.py).

Under pytest-xdist (`make test` runs two workers) each worker also gets services of its own, set here in
its environment so that the Celery workers, servers and commands it starts inherit them too:

- its own VAR_DIR subfolder (SQLite files, the filesystem broker's queue, the secret);
- its own Redis database (REDIS_URL, and CELERY_BROKER_URL when it is Redis): the tests clear the
  cache, which empties the whole Redis database, and a real Celery worker must only take the tasks of
  the pytest worker that started it;
- its own cache key prefix.

pytest-django already gives each worker its own PostgreSQL test database (test_<name>_gwN). Without
``-n``, and in xdist's controller, PYTEST_XDIST_WORKER is unset and nothing changes.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("LMS_TOOL_MODE", "test")


def redis_db_shifted(url: str, by: int) -> str:
    """``url`` on Redis database number (its own, 0 when it names none) + ``by``."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) + by
    return urlunsplit(parts._replace(path=f"/{db}"))


# What the run was given, before a worker's own services replace it (tests/test_worker_isolation.py).
GIVEN = {name: os.environ.get(name, "") for name in ("VAR_DIR", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_KEY_PREFIX")}


def isolate_worker(worker: str) -> None:
    number = int(worker.removeprefix("gw"))
    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parents[1] / "var")) / worker
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["CACHE_KEY_PREFIX"] = f"{os.environ.get('CACHE_KEY_PREFIX', 'lms')}-{worker}"
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("redis://", "rediss://")):
            os.environ[name] = redis_db_shifted(url, number)


if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    isolate_worker(worker)
