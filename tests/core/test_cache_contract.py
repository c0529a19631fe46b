"""lms_tool/core/cache.py keeps one ``redis.Redis`` per connection pool by overriding Django's Redis cache
client, and sends the common operations on a connection each thread keeps. It relies on Django internals
(``RedisCache._class`` and ``_cache``, ``RedisCacheClient._client``, ``_serializer``,
``_get_connection_pool(write)``, the ``get_client(key, *, write)`` signature), on redis-py sharing one client
safely between threads, and on redis-py's connection API (the pool's ``make_connection``,
``send_packed_command``, ``read_response``, ``disconnect``). These tests fail if a Django or redis-py upgrade changes any of that.

The first tests need no server (building a client connects nothing); the others talk to the Redis in
REDIS_URL, as production runs, and are skipped without it.
"""

from __future__ import annotations

import inspect
import os
import threading
import uuid

import pytest
import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

from lms_tool.core.cache import RedisCache, RedisCacheClient

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(
    not REDIS_URL, reason="REDIS_URL is not set: the cache client is checked against a real Redis only with one"
)
NOWHERE = "redis://127.0.0.1:1/0"  # never connected to: building clients and pools is lazy


def test_djangos_redis_client_still_offers_what_ours_builds_on():
    django_client = DjangoRedisCacheClient([NOWHERE])

    pool = django_client._get_connection_pool(True)
    assert isinstance(pool, redis.ConnectionPool)
    assert django_client._get_connection_pool(True) is pool, "Django keeps one pool per server"
    assert django_client._get_connection_pool(False) is pool, "one server: reads use the writers' pool"
    assert django_client._client is redis.Redis
    assert isinstance(django_client._client(connection_pool=pool), redis.Redis)


def test_our_get_client_keeps_djangos_signature():
    # Django's operations call get_client(key) and get_client(key, write=True).
    def shape(function):  # type: ignore[no-untyped-def]
        return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]

    assert shape(RedisCacheClient.get_client) == shape(DjangoRedisCacheClient.get_client)


def test_djangos_redis_cache_builds_its_client_from_the_class_we_set():
    ours = RedisCache(NOWHERE, {})
    plain = DjangoRedisCache(NOWHERE, {})

    assert type(ours._cache) is RedisCacheClient
    assert type(plain._cache) is DjangoRedisCacheClient, "Django still builds _cache from _class"


def test_one_redis_client_serves_every_operation_on_a_pool():
    client = RedisCacheClient([NOWHERE])

    first = client.get_client("a")
    assert client.get_client("b", write=True) is first
    assert client.get_client() is first
    assert first.connection_pool is client._get_connection_pool(True)


@pytest.fixture
def redis_cache():  # type: ignore[no-untyped-def]
    prefix = f"{os.environ.get('CACHE_KEY_PREFIX', 'lms')}-contract-{uuid.uuid4().hex[:8]}"
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    yield cache
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    cache.close()


@needs_redis
def test_every_cache_operation_the_tool_uses_works_through_one_client(redis_cache):
    cache = redis_cache

    cache.set("token", b"\x00sealed", 60)
    assert cache.get("token") == b"\x00sealed"
    assert cache.add("nonce", 1, 60) is True
    assert cache.add("nonce", 2, 60) is False, "add() is what makes a nonce single-use"
    assert cache.incr("nonce") == 2
    cache.set_many({"a": {"kid": "k1"}, "b": [1, 2]}, 60)
    assert cache.get_many(["a", "b", "missing"]) == {"a": {"kid": "k1"}, "b": [1, 2]}
    cache.delete_many(["a", "b"])
    assert cache.delete("token") is True
    assert cache.get("token") is None and cache.get("a") is None

    assert len(cache._cache._clients) == 1


@needs_redis
def test_threads_sharing_the_cache_each_get_their_own_answers_on_a_connection_of_their_own(redis_cache):
    # gunicorn's threads (and a test's) share the process's cache; each sends on the connection it keeps.
    cache = redis_cache
    wrong: list[str] = []
    ids: dict[int, set[int]] = {}

    def work(n: int) -> None:
        seen = ids.setdefault(n, set())
        for i in range(40):
            key = f"t{n}-{i}"
            cache.set(key, (n, i), 60)
            if cache.get(key) != (n, i):
                wrong.append(key)
            seen.add(cache._cache.run([("CLIENT", "ID")], write=False)[0])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    assert all(len(seen) == 1 for seen in ids.values()), ids
    assert len(set().union(*ids.values())) == 6, "one connection per thread, none shared"
    assert cache.get("t5-39") == (5, 39)


@needs_redis
def test_a_kept_connection_the_server_closed_is_made_again_without_an_error(redis_cache):
    cache = redis_cache
    cache.set("kept", "before", 60)
    first = cache._cache.run([("CLIENT", "ID")], write=False)[0]
    killer = redis.Redis.from_url(REDIS_URL)
    assert killer.client_kill_filter(_id=first) == 1  # as a Redis restart or its idle timeout would

    assert cache.get("kept") == "before"
    assert cache._cache.run([("CLIENT", "ID")], write=False)[0] != first
    killer.close()


@needs_redis
def test_a_refused_command_raises_and_leaves_the_connection_in_step(redis_cache):
    cache = redis_cache
    cache.set("word", "not a number", 60)
    key = cache.make_and_validate_key("word")

    with pytest.raises(redis.ResponseError):
        cache._cache.run([("INCR", key), ("GET", key)], write=True)

    assert cache.get("word") == "not a number", "the GET's reply was read with the refusal, not left for the next"
    assert cache.add("fresh", 1, 60) is True


@needs_redis
def test_a_forked_child_opens_its_own_connection(redis_cache):
    # A socket shared with the parent would interleave the two processes' replies.
    cache = redis_cache
    cache.set("parent", 1, 60)
    parent_id = cache._cache.run([("CLIENT", "ID")], write=False)[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its connection's id and whether it reads the parent's key
        try:
            child_id = cache._cache.run([("CLIENT", "ID")], write=False)[0]
            os.write(write, f"{child_id} {cache.get('parent')}".encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    os.close(read)

    child_id, value = answer.split()
    assert int(child_id) != parent_id and value == "1"
    assert cache._cache.run([("CLIENT", "ID")], write=False)[0] == parent_id, "the parent keeps its own"
