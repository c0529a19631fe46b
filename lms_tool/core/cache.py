"""Django's Redis cache, with the operations a request makes most on a connection kept by each thread.

Django builds a new ``redis.Redis`` for every cache operation, and each one builds its table of
response callbacks (~170 entries): about 0.2 ms of CPU per operation, several per launch. A
``redis.Redis`` over a pool is thread-safe, so one per pool serves the operations that go through it.

The operations every request makes (``get``, ``set``, ``add``, ``delete``, ``get_many`` and the launch's
``delete_then_add``) skip the client altogether: each thread keeps a connection of its own (made by the pool,
with its address, credentials, TLS and timeouts) and writes the commands, packed once, straight to it. The
client's layers around a command (taking a connection from the pool and putting it back, retry wrappers,
observability hooks, response callbacks) cost about as much CPU as writing the command and reading its reply;
a login + launch pair makes five (docs/benchmarks.md, Launch). The commands are exactly those Django's own
client sends. The other operations go through the client.
"""

from __future__ import annotations

import os
import threading
from typing import Any, cast

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class RedisCacheClient(DjangoRedisCacheClient):
    _serializer: Any  # Django's, set by its __init__ (the stubs leave it out)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        # Django makes a server's pool on first use without a lock: two threads of a process starting at once
        # could each make one, and keep two pools and two clients. One lock around both, held for microseconds.
        self._lock = threading.Lock()
        self._kept = threading.local()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        with self._lock:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients.get(id(pool))
            if client is None:
                client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def _connection(self, write: bool) -> Any:
        """This thread's kept connection to the server Django picks for a read or a write; a new one in a forked
        child (a socket must not be shared with the parent) and once a thread ends (the connection is dropped with
        the thread's locals, which closes it)."""
        with self._lock:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        kept: dict[int, tuple[int, Any]] = self._kept.__dict__.setdefault("by_pool", {})
        pid, connection = kept.get(id(pool), (0, None))
        if connection is None or pid != os.getpid():
            connection = pool.make_connection()
            kept[id(pool)] = (os.getpid(), connection)
        return connection

    def run(self, commands: list[tuple[Any, ...]], *, write: bool) -> list[Any]:
        """Send ``commands`` in one write and read their replies: one round trip, as a pipeline without MULTI.

        A connection found broken (the server restarted, or closed an idle connection) is made again and the
        commands sent once more, as redis-py's client does; a second failure is raised. A command the server
        refuses raises ``ResponseError`` once every reply is read, so the connection stays in step."""
        connection = self._connection(write)
        packed = [_packed(commands)]
        for attempt in (1, 2):
            try:
                connection.send_packed_command(packed, check_health=False)
                replies = []
                for _ in commands:
                    try:
                        replies.append(connection.read_response())
                    except ResponseError as refused:
                        replies.append(refused)
                break
            except (RedisConnectionError, RedisTimeoutError):
                connection.disconnect()  # both raise after disconnecting; again, in case it did not
                if attempt == 2:
                    raise
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    # Django's operations (django/core/cache/backends/redis.py), the same commands through ``run``.

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        if timeout == 0:
            return bool(super().add(key, value, timeout))
        return self.run([_set(key, self._serializer.dumps(value), timeout, nx=True)], write=True)[0] is not None

    def get(self, key: Any, default: Any) -> Any:
        value = self.run([("GET", key)], write=False)[0]
        return default if value is None else self._serializer.loads(value)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        if timeout == 0:
            self.run([("DEL", key)], write=True)
        else:
            self.run([_set(key, self._serializer.dumps(value), timeout)], write=True)

    def delete(self, key: Any) -> bool:
        return bool(self.run([("DEL", key)], write=True)[0])

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        values = self.run([("MGET", *keys)], write=False)[0] if keys else []
        return {k: self._serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}


def _packed(commands: list[tuple[Any, ...]]) -> bytes:
    """``commands`` in the Redis protocol (RESP), as redis-py's packer writes them for the arguments sent here: bytes
    as they are, text in UTF-8, integers in decimal."""
    out = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        for arg in command:
            if isinstance(arg, str):
                arg = arg.encode()
            elif type(arg) is int:
                arg = b"%d" % arg
            elif not isinstance(arg, bytes):
                raise TypeError(
                    f"a cache command's argument must be bytes, text or an integer, not {type(arg).__name__}"
                )
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def _seconds(timeout: float | None) -> int | None:
    return None if timeout is None else int(timeout)


def _set(key: Any, value: Any, timeout: int | None, *, nx: bool = False) -> tuple[Any, ...]:
    """The SET redis-py's ``set(key, value, ex=timeout, nx=nx)`` sends."""
    command: tuple[Any, ...] = ("SET", key, value)
    if nx:
        command += ("NX",)
    return command if timeout is None else (*command, "EX", timeout)


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        self._class = RedisCacheClient


# The cache operations the launch needs at once, in one round trip (docs/benchmarks.md, Launch): the commands
# Django's own ``get``/``set``/``add``/``delete`` send, in one write and one read on the socket. Any other cache
# runs the operations in turn.


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
    client = cast(RedisCacheClient, cache._cache)
    expiry = cache.get_backend_timeout(timeout)
    commands = [
        ("DEL", cache.make_and_validate_key(delete_key)),
        _set(cache.make_and_validate_key(add_key), client._serializer.dumps(value), _seconds(expiry), nx=True),
    ]
    if get_key:
        commands.append(("GET", cache.make_and_validate_key(get_key)))
    answers = client.run(commands, write=True)
    got = client._serializer.loads(answers[2]) if get_key and answers[2] is not None else None
    return bool(answers[0]), answers[1] is not None, got
