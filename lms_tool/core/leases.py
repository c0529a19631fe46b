"""Leases: one worker at a time on a long task whose message the broker may hand out twice.

Tasks are ``acks_late``: a worker whose broker connection drops mid-task keeps running it, and the
unacknowledged message comes back to another worker (docs/production.md, "Outages and queues"). For
an AI generation that would write every draft twice. The worker that starts a run claims its lease
(an atomic set-if-absent with an expiry in the shared cache: ``SET NX PX`` on Redis, a conditional
insert on the database cache), renews it between parts and releases it at the end; a re-delivered
task that finds a live lease does nothing. If the holder dies, its lease expires and the next delivery
takes the run over.

The lease lives in the cache rather than in a column of the run so that the runs' tables need no
migration; the services still move the run's own state with a conditional UPDATE once they hold it.
"""

from __future__ import annotations

import secrets

from django.core.cache import cache

PREFIX = "lease:"


def lease_claim(name: str, *, seconds: int) -> str | None:
    """A token if this caller now holds ``name`` for ``seconds``; None when someone else holds it."""
    token = secrets.token_hex(16)
    return token if cache.add(PREFIX + name, token, timeout=seconds) else None


def lease_renew(name: str, token: str, *, seconds: int) -> bool:
    """Extend a lease this caller holds; False when it expired and someone else took it (stop working)."""
    current = cache.get(PREFIX + name)
    if current == token:
        return bool(cache.touch(PREFIX + name, timeout=seconds))
    if current is None:
        # Expired with nobody else on it: take it again rather than stop half-way.
        return cache.add(PREFIX + name, token, timeout=seconds)
    return False


def lease_release(name: str, token: str) -> None:
    if cache.get(PREFIX + name) == token:
        cache.delete(PREFIX + name)


def lease_held(name: str) -> bool:
    return cache.get(PREFIX + name) is not None
