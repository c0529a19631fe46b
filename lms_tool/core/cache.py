"""Django's Redis cache, keeping one client per connection pool.

Django builds a new ``redis.Redis`` for every cache operation, and each one builds its table of
response callbacks (~170 entries): about 0.2 ms of CPU per operation, several per launch. A
``redis.Redis`` over a pool is thread-safe, so one per pool serves every request of the process.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        # Django makes a server's pool on first use without a lock: two threads of a process starting at once
        # could each make one, and keep two pools and two clients. One lock around both, held for microseconds.
        self._lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        with self._lock:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients.get(id(pool))
            if client is None:
                client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        self._class = RedisCacheClient


# The cache operations the launch needs at once, in one round trip (docs/benchmarks.md, Launch): one Redis
# pipeline (one write and one read on the socket), each command exactly what Django's own
# ``get``/``set``/``add``/``delete`` sends. Any other cache runs the operations in turn.


def delete_then_add(
    delete_key: str, add_key: str, value: Any, timeout: int, *, get_key: str | None = None
) -> tuple[bool, bool, Any]:
    """``cache.delete(delete_key)``, ``cache.add(add_key, value, timeout)`` and, with ``get_key``,
    ``cache.get(get_key)``: (was it there, was it added, what ``get_key`` holds or None)."""
    from django.core.cache import caches

    # The backend itself: ``django.core.cache.cache`` is a proxy, never an instance of the backend's class
    # (testing the proxy sent every launch down the fallback, one round trip per operation).
    cache = caches["default"]
    if not isinstance(cache, RedisCache) or timeout <= 0:
        deleted, added = cache.delete(delete_key), cache.add(add_key, value, timeout)
        return deleted, added, cache.get(get_key) if get_key else None
    client = cache._cache.get_client(write=True)
    serializer = cache._cache._serializer  # type: ignore[attr-defined]
    pipe = client.pipeline(transaction=False)
    pipe.delete(cache.make_and_validate_key(delete_key))
    expiry = cache.get_backend_timeout(timeout)
    pipe.set(
        cache.make_and_validate_key(add_key),
        serializer.dumps(value),
        ex=None if expiry is None else int(expiry),
        nx=True,
    )
    if get_key:
        pipe.get(cache.make_and_validate_key(get_key))
    answers = pipe.execute()
    got = serializer.loads(answers[2]) if get_key and answers[2] is not None else None
    return bool(answers[0]), bool(answers[1]), got
