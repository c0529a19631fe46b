"""Django's Redis cache, keeping one client per connection pool.

Django builds a new ``redis.Redis`` for every cache operation, and each one builds its table of
response callbacks (~170 entries): about 0.2 ms of CPU per operation, several per launch. A
``redis.Redis`` over a pool is thread-safe, so one per pool serves every request of the process.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        self._class = RedisCacheClient


# Two cache operations in one round trip where the launch needs both (docs/benchmarks.md,
# Launch): one Redis pipeline (two commands, one write and one read on the socket), each command exactly what
# Django's own ``get``/``set``/``add``/``delete`` sends. Any other cache runs the two operations in turn.


def delete_then_add(delete_key: str, add_key: str, value: Any, timeout: int) -> tuple[bool, bool]:
    """``cache.delete(delete_key)`` and ``cache.add(add_key, value, timeout)``: (was it there, was it added)."""
    from django.core.cache import cache

    if not isinstance(cache, RedisCache) or timeout <= 0:
        return cache.delete(delete_key), cache.add(add_key, value, timeout)
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
    deleted, added = pipe.execute()
    return bool(deleted), bool(added)
