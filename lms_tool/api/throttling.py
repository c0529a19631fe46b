"""Per-client rate limits in the shared cache (fixed one-minute windows, shared by all web processes)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .models import ApiClient

WINDOW = 60


class ApiClientRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return True
        limit = client.rate_limit_per_minute or settings.API["DEFAULT_RATE_PER_MINUTE"]
        now = time.time()
        window = int(now // WINDOW)
        key = f"api:rate:{client.pk}:{window}"
        cache.add(key, 0, WINDOW * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW * 2)
            count = 1
        if count > limit:
            self._wait = (window + 1) * WINDOW - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
