"""Fan-out of domain events to subscriptions, and sending one delivery (at-least-once).

Events reach this module after their transaction commits (``core.events.PUBLISHERS``); a sweeper
catches any whose fan-out or delivery task was lost, so nothing is dropped, and receivers
de-duplicate on ``webhook-id``. A worker leases a delivery while sending it, so two workers do not
send the same one at once.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Field
from django.utils import timezone

from lms_tool.core import http, lean
from lms_tool.core.models import DomainEvent
from lms_tool.lti.models import Context
from lms_tool.lti.service_client import backoff

from . import signing
from .models import Delivery, DeliveryState, EventFanout, Subscription

logger = logging.getLogger(__name__)


def _conf(name: str) -> Any:
    return settings.WEBHOOKS[name]


def _reaches(subscription: Subscription, event: DomainEvent, reach: dict[int, set[int] | None]) -> bool:
    client = subscription.api_client
    if client is None:
        return True
    if not client.is_active:  # revoking a client turns it off
        return False  # a revoked client hears nothing more, whatever its subscriptions say
    if client.all_contexts:
        return True
    if client.pk not in reach:
        reach[client.pk] = set(Context.objects.filter(client.context_q()).values_list("pk", flat=True))
    allowed = reach[client.pk]
    return event.context_pk is not None and allowed is not None and event.context_pk in allowed


@transaction.atomic
def event_fan_out(*, event_pk: int) -> list[int]:
    """Create the deliveries of one event (once); returns the pks to send."""
    _, created = EventFanout.objects.get_or_create(event_id=event_pk)
    if not created:
        return []
    event = DomainEvent.objects.get(pk=event_pk)
    # A subscription hears of events from its creation on, even when the sweeper fans out late.
    subscriptions = Subscription.objects.filter(is_active=True, created_at__lte=event.created_at)
    subscriptions = subscriptions.select_related("api_client")
    reach: dict[int, set[int] | None] = {}
    now = timezone.now()
    targets = [s for s in subscriptions if s.wants(event.type) and _reaches(s, event, reach)]
    deliveries = Delivery.objects.bulk_create(
        [Delivery(subscription=s, event=event, next_attempt_at=now) for s in targets], ignore_conflicts=True
    )
    pks = list(Delivery.objects.filter(event=event, state=DeliveryState.PENDING).values_list("pk", flat=True))
    logger.debug("event %s fanned out to %d subscription(s)", event.event_id, len(deliveries))
    return pks


def payload(event: DomainEvent) -> bytes:
    """The body, the same bytes on every attempt (Standard Webhooks: type, timestamp, data)."""
    data = {
        **event.data,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "course": event.context_pk,
    }
    body = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


# A delivery's claim and its end, as plain statements built once (``core.lean``): the ORM compiled the same UPDATE
# with its join and the ``select_related`` read for every delivery, which cost more than the POST itself
# (bench/api.py).
_PARTS: tuple[lean.Part, ...] = (
    (Delivery, "d", frozenset()),
    (Subscription, "s", frozenset()),
    (DomainEvent, "e", frozenset()),
)


@functools.cache
def _claim_sql() -> str:
    d, s = Delivery._meta.db_table, Subscription._meta.db_table
    # Identifiers come from the models' metadata and values are bound parameters: nothing from input.
    return (
        f"UPDATE {d} SET lease_until = %s WHERE id = %s AND state = %s AND (lease_until IS NULL OR lease_until <= %s) "  # noqa: S608
        f"AND subscription_id IN (SELECT id FROM {s} WHERE is_active = %s)"
    )


@functools.cache
def _claimed_tail() -> str:
    d, s, e = Delivery._meta.db_table, Subscription._meta.db_table, DomainEvent._meta.db_table
    return f"FROM {d} d JOIN {s} s ON d.subscription_id = s.id JOIN {e} e ON d.event_id = e.id WHERE d.id = %s"


def _when(value: Any, connection: Any) -> Any:
    return _field("lease_until").get_db_prep_value(value, connection)


def _claim(pk: int) -> Delivery | None:
    """Lease the delivery if it is pending, not leased and its subscription active; the delivery, with its
    subscription and event, or None."""
    now = timezone.now()
    lease = now + timedelta(seconds=_conf("LEASE_SECONDS"))
    connection = connections[router.db_for_write(Delivery)]
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(), [_when(lease, connection), pk, str(DeliveryState.PENDING), _when(now, connection), True]
        )
        if cursor.rowcount != 1:
            return None
    rows = lean.joined_from(_PARTS, (), _claimed_tail(), [pk])
    if not rows:
        return None  # deleted since (its subscription or event with it)
    delivery, subscription, event = rows[0]
    delivery.subscription, delivery.event = subscription, event
    return delivery


def _field(name: str) -> Field[Any, Any]:
    field = Delivery._meta.get_field(name)
    assert isinstance(field, Field)  # a column of the row itself, not a relation pointing at it
    return field


@functools.cache
def _end_sql(names: tuple[str, ...]) -> str:
    columns = ", ".join(f"{_field(name).column} = %s" for name in names)
    return f"UPDATE {Delivery._meta.db_table} SET {columns} WHERE id = %s"  # noqa: S608 - see _claim_sql


def _end(pk: int, **changes: Any) -> None:
    """``Delivery.objects.filter(pk=pk).update(**changes)`` (plain values only) as one statement built once."""
    connection = connections[router.db_for_write(Delivery)]
    names = tuple(sorted(changes))
    values = [_field(name).get_db_prep_save(changes[name], connection) for name in names]
    with connection.cursor() as cursor:
        cursor.execute(_end_sql(names), [*values, pk])


def _retry_after(response: requests.Response | None) -> float | None:
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return float(value) if value.isdigit() else None


def _send(delivery: Delivery) -> tuple[requests.Response | None, str, bool]:
    """POST the delivery once: (response, error shown to the subscriber, whether to stop trying)."""
    event, subscription = delivery.event, delivery.subscription
    body = payload(event)
    headers = signing.headers(
        secret=subscription.secret(), msg_id=str(event.event_id), timestamp=int(time.time()), body=body
    )
    try:
        # untrusted: a receiver answers 2xx, never a redirect (which would be a second address to check).
        response = http.send_lean(
            "POST", subscription.url, body=body, headers=headers, untrusted=True, timeout=_conf("TIMEOUT_SECONDS")
        )
    except http.BlockedAddressError as exc:
        # The URL now resolves to a private address (DNS changed since the subscription was made) or was
        # stored before URLs were checked: retrying would keep knocking on an internal address.
        http.failure_log(f"webhook delivery {delivery.pk}: blocked, dead-lettered; POST", subscription.url, exc)
        return None, http.UNREACHABLE, True
    except requests.RequestException as exc:
        # The same words for a refused connection, a closed port or a timeout: what the subscriber
        # reads (API, admin) must not tell one from the other; the log has the reason.
        http.failure_log(f"webhook delivery {delivery.pk}: POST", subscription.url, exc)
        return None, http.UNREACHABLE, False
    if 200 <= response.status_code < 300:
        return response, "", False
    return response, f"HTTP {response.status_code}: {response.text[:500]}", False


def delivery_attempt(*, delivery_pk: int) -> float | None:
    """Send one delivery once. Returns the seconds to wait before the next try, or None when there is
    nothing more to do (delivered, dead-lettered, or not ours to send right now)."""
    delivery = _claim(delivery_pk)
    if delivery is None:
        return None
    response, error, final = _send(delivery)
    now = timezone.now()
    attempts = delivery.attempts + 1
    status = response.status_code if response is not None else None
    done = {"attempts": attempts, "last_status": status, "lease_until": None, "updated_at": now}
    if not error:
        _end(delivery.pk, state=str(DeliveryState.DELIVERED), delivered_at=now, last_error="", **done)
        return None
    if final or attempts >= _conf("MAX_ATTEMPTS"):
        _end(delivery.pk, state=str(DeliveryState.DEAD), last_error=error, **done)
        logger.warning("webhook delivery %s dead-lettered after %d attempts: %s", delivery.pk, attempts, error)
        return None
    delay = backoff(
        attempts, retry_after=_retry_after(response), base=_conf("RETRY_BASE_SECONDS"), cap=_conf("RETRY_CAP_SECONDS")
    )
    _end(delivery.pk, next_attempt_at=now + timedelta(seconds=delay), last_error=error, **done)
    logger.info("webhook delivery %s failed (attempt %d), retry in %.1fs: %s", delivery.pk, attempts, delay, error)
    return delay


def due_deliveries(*, now: Any = None, grace_seconds: float = 60.0, limit: int = 1000) -> list[int]:
    """Pending deliveries whose task seems lost: due for a while and not leased."""
    now = now or timezone.now()
    rows = Delivery.objects.filter(
        state=DeliveryState.PENDING,
        subscription__is_active=True,
        next_attempt_at__lt=now - timedelta(seconds=grace_seconds),
    ).exclude(lease_until__gt=now)
    return list(rows.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def events_not_fanned_out(
    *, now: Any = None, grace_seconds: float = 30.0, window_hours: int = 48, limit: int = 1000
) -> list[int]:
    """Recent events whose fan-out did not happen (a crash after commit, a broker outage)."""
    now = now or timezone.now()
    rows = DomainEvent.objects.filter(
        created_at__lt=now - timedelta(seconds=grace_seconds), created_at__gte=now - timedelta(hours=window_hours)
    ).exclude(pk__in=EventFanout.objects.values("event_id"))
    return list(rows.order_by("pk").values_list("pk", flat=True)[:limit])
