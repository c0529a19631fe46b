"""Route the tool's database or cache through a ``FaultProxy`` for one test.

The live server answers each request on a new thread with new connections (Django closes them after
every request), so changing where new connections go is enough: the test's own thread keeps its
direct connection to check row counts while the proxy is cut.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections

from .proxy import FaultProxy, fault_proxy

needs_services = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
    reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): the faults are cut between the tool and them",
)


@contextmanager
def database_through_proxy(*, connect_timeout: int = 2) -> Iterator[FaultProxy]:
    """New database connections (of every thread) go through a proxy; a cut one fails within ``connect_timeout``."""
    settings_dict: dict[str, Any] = connections["default"].settings_dict  # shared by every thread's connection
    saved = {key: settings_dict[key] for key in ("HOST", "PORT")}
    saved_options = dict(settings_dict.get("OPTIONS") or {})
    with fault_proxy(f"postgres://{saved['HOST'] or '127.0.0.1'}:{saved['PORT'] or 5432}/") as proxy:
        settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
        settings_dict["OPTIONS"] = {**saved_options, "connect_timeout": connect_timeout}
        try:
            yield proxy
        finally:
            settings_dict.update(saved)
            settings_dict["OPTIONS"] = saved_options


@contextmanager
def cache_through_proxy(settings: Any, *, timeout: float = 1.0) -> Iterator[FaultProxy]:
    """The cache (Redis) through a proxy, with short socket timeouts so a silent cut fails fast."""
    default = settings.CACHES["default"]
    with fault_proxy(default["LOCATION"]) as proxy:
        settings.CACHES = {
            "default": {
                **default,
                "LOCATION": proxy.url_for(default["LOCATION"]),
                "OPTIONS": {"socket_timeout": timeout, "socket_connect_timeout": timeout},
            }
        }
        try:
            yield proxy
        finally:
            settings.CACHES = {"default": default}
