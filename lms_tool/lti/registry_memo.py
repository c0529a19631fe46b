"""A per-process memo of the registration and deployment rows every login and launch reads.

Every launch checks that its registration and its deployment are active (docs/security.md): two database
reads that almost never change. Each process keeps the rows it read, valid while a **version** in the
shared cache stays what it was when they were read. Any write to a registration or a deployment changes
the version (the models' querysets and ``post_save``/``post_delete``, in the writing transaction and again
once it commits), so every process reads the rows again at its next login or launch: a deactivated
registration or deployment is still refused at the next launch, on every process.

The launch fetches the version in the same cache round trip as its login state (``launch.launch_validate``),
so the memo costs the launch nothing; the login pays one cache read instead of a database query. No
version in the cache (evicted, or a cache that was cleared) means no memo: the rows are read from the
database and a fresh version is planted for the next request. Entries also expire after ``MAX_AGE_SECONDS``
whatever the version says, so a lost version bump (a cache outage at the wrong moment) heals by itself.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import models, transaction

VERSION_KEY = "lti:registry:version"
MAX_AGE_SECONDS = 60.0
_MAX_ENTRIES = 10_000
T = TypeVar("T")

_memo: dict[Any, tuple[float, Any]] = {}
_version: list[str | None] = [None]
# Reads served from the memo and from the database, for tests and the benchmark.
stats = {"hits": 0, "misses": 0}


def version_read() -> str | None:
    """The registry's version in the shared cache (None when there is none)."""
    value = cache.get(VERSION_KEY)
    return value if isinstance(value, str) else None


def version_bump() -> None:
    """Every process forgets its memo at its next use: now, and again when the writing transaction commits
    (a process that re-read the old rows while the write was not yet visible drops them then)."""
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), None)
    _memo.clear()  # this process at once, whatever its next version read says


def memo_get(key: Any, version: str | None, load: Callable[[], T]) -> T:
    """``load()``'s answer for ``key``, from the memo while ``version`` is the one it was read under."""
    now = time.monotonic()
    if version is None:
        # No version to vouch for a memo: read the database, and plant one for the next request.
        cache.add(VERSION_KEY, secrets.token_hex(8), None)
        _memo.clear()
        _version[0] = None
        stats["misses"] += 1
        return load()
    if version != _version[0]:
        _memo.clear()
        _version[0] = version
    found = _memo.get(key)
    if found is not None and now - found[0] < MAX_AGE_SECONDS:
        stats["hits"] += 1
        return _copied(found[1])
    stats["misses"] += 1
    value = load()
    if len(_memo) >= _MAX_ENTRIES:
        _memo.clear()
    _memo[key] = (now, _copied(value))
    return value


def _copied(value: Any) -> Any:
    # Callers may set attributes on a row (``scopes.scopes_observe``): never on the memo's own.
    if isinstance(value, list):
        return [_row_copied(item) for item in value]
    return _row_copied(value)


def _row_copied(row: Any) -> Any:
    """A shallow copy of a model row with its own ``_state``: what ``copy.copy`` makes, without the pickling
    protocol it goes through for a model (a quarter of the CPU; a launch copies three rows)."""
    if not isinstance(row, models.Model):
        return copy.copy(row)
    new = object.__new__(type(row))
    fields = row.__dict__.copy()
    state = fields["_state"] = copy.copy(row._state)
    state.fields_cache = state.fields_cache.copy()  # as Model.__getstate__: related rows read later stay ours
    new.__dict__ = fields
    return new


def forget() -> None:
    """Drop this process's memo (tests)."""
    _memo.clear()
    _version[0] = None
