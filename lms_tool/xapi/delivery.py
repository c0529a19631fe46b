"""Sending the outbox to an LRS: batches of statements in one POST, retried with backoff, dead-lettered.

xAPI 1.0.3 (Communication §2.1.2): POST an array of statements to ``<endpoint>/statements`` with
``X-Experience-API-Version`` and HTTP Basic credentials. Ids are fixed when a statement is recorded,
so a batch sent again (a timeout after the LRS stored it, a replay) is stored once: an LRS skips ids it
already holds (Ralph answers 204 when all are known) or answers 409, and never changes what it stored. A worker leases the rows it sends,
so two workers never send the same row at once.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from lms_tool.core import http
from lms_tool.lti.service_client import backoff

from .models import LrsEndpoint, Statement, StatementState
from .vocabulary import XAPI_VERSION

logger = logging.getLogger(__name__)

# What the LRS says about the statements themselves: sending them again unchanged cannot help. A batch
# so refused is split so each statement goes alone and only the one at fault is dead-lettered.
REFUSED = {400, 409, 413, 422}
# How long one task keeps sending full batches before it hands over to a fresh task.
DRAIN_SECONDS = 20.0


def _conf(name: str) -> Any:
    return settings.XAPI[name]


def batch_claim(endpoint: LrsEndpoint, *, now: Any = None) -> list[Statement]:
    """Lease the next due statements (oldest first, up to the endpoint's batch size); [] when none is due."""
    now = now or timezone.now()
    due = Statement.objects.filter(endpoint=endpoint, state=StatementState.PENDING, next_attempt_at__lte=now)
    due = due.exclude(lease_until__gt=now).order_by("next_attempt_at", "pk")
    candidates = list(due.values_list("pk", "alone")[: max(1, endpoint.batch_size)])
    if not candidates:
        return []
    # A statement the LRS refused inside a batch goes on its own (and then only it is dead-lettered).
    chosen = [candidates[0][0]] if candidates[0][1] else [pk for pk, alone in candidates if not alone]
    lease = uuid.uuid4()
    free = Statement.objects.filter(pk__in=chosen, state=StatementState.PENDING).exclude(lease_until__gt=now)
    if not free.update(lease=lease, lease_until=now + timedelta(seconds=_conf("LEASE_SECONDS"))):
        return []
    return list(Statement.objects.filter(lease=lease).order_by("pk"))


def batch_post(endpoint: LrsEndpoint, rows: list[Statement]) -> tuple[requests.Response | None, str]:
    """POST the rows once: (response, error in words; empty when the LRS took them)."""
    body = json.dumps([row.body for row in rows], separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": XAPI_VERSION}
    url = endpoint.statements_url()
    try:
        # untrusted: an LRS answers the POST itself; a redirect would be a second address to check.
        response = http.post(
            url,
            data=body,
            headers=headers,
            auth=endpoint.credentials(),
            untrusted=True,
            timeout=_conf("TIMEOUT_SECONDS"),
        )
    except requests.RequestException as exc:
        http.failure_log(f"xapi batch of {len(rows)} to LRS endpoint {endpoint.pk}: POST", url, exc)
        return None, http.UNREACHABLE
    if 200 <= response.status_code < 300:
        return response, ""
    return response, f"HTTP {response.status_code}: {response.text[:500]}"


def _retry_after(response: requests.Response | None) -> float | None:
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return float(value) if value.isdigit() else None


def batch_settle(rows: list[Statement], response: requests.Response | None, error: str) -> float | None:
    """Record the outcome of one POST; the seconds until these rows are due again, or None."""
    now = timezone.now()
    pks = [row.pk for row in rows]
    status = response.status_code if response is not None else None
    mine = Statement.objects.filter(pk__in=pks, lease=rows[0].lease)
    released = {"lease": None, "lease_until": None, "last_status": status, "updated_at": now}
    if not error:
        mine.update(state=StatementState.SENT, sent_at=now, last_error="", attempts=F("attempts") + 1, **released)
        return None
    if status in REFUSED and len(rows) > 1:
        # Split: each goes alone at once; the attempt is not counted against statements that may be fine.
        mine.update(alone=True, next_attempt_at=now, last_error=error, **released)
        logger.info("xapi: the LRS refused a batch of %d (%s); sending them one by one", len(rows), error[:200])
        return 0.0
    if status == 409:
        # Alone and still 409: the LRS already holds a statement with this id (xAPI 1.0.3 Communication
        # §2.1.2 lets it answer 409 instead of 204 to an id it has), i.e. an earlier send got through.
        mine.update(state=StatementState.SENT, sent_at=now, last_error=error, attempts=F("attempts") + 1, **released)
        logger.info("xapi: the LRS already holds statement %s (409); counted as sent", rows[0].statement_id)
        return None
    attempts = max(row.attempts for row in rows) + 1
    if status in REFUSED or attempts >= _conf("MAX_ATTEMPTS"):
        mine.update(state=StatementState.DEAD, last_error=error, attempts=F("attempts") + 1, **released)
        logger.warning("xapi: %d statement(s) dead-lettered after %d attempt(s): %s", len(rows), attempts, error[:200])
        return None
    delay = backoff(
        attempts, retry_after=_retry_after(response), base=_conf("RETRY_BASE_SECONDS"), cap=_conf("RETRY_CAP_SECONDS")
    )
    mine.update(
        next_attempt_at=now + timedelta(seconds=delay), last_error=error, attempts=F("attempts") + 1, **released
    )
    logger.info("xapi: batch of %d failed (attempt %d), retry in %.1fs: %s", len(rows), attempts, delay, error[:200])
    return delay


def endpoint_drain(*, endpoint_pk: int) -> float | None:
    """Send what is due for one endpoint, batch after batch. Returns the seconds after which to call again
    (a failed batch's backoff, or 0 when there is more than one task should send), or None when done."""
    endpoint = LrsEndpoint.objects.filter(pk=endpoint_pk, is_active=True).first()
    if endpoint is None:
        return None
    started = time.monotonic()
    while True:
        rows = batch_claim(endpoint)
        if not rows:
            return None
        response, error = batch_post(endpoint, rows)
        delay = batch_settle(rows, response, error)
        if delay is not None and delay > 0:
            return delay  # the LRS is failing: wait, whatever else is due
        if time.monotonic() - started > DRAIN_SECONDS:
            return 0.0


def endpoints_due(*, now: Any = None, grace_seconds: float = 30.0) -> list[int]:
    """Endpoints with statements due for a while and not leased: their task was lost (a crash, a broker outage)."""
    now = now or timezone.now()
    rows = Statement.objects.filter(
        state=StatementState.PENDING,
        endpoint__is_active=True,
        next_attempt_at__lt=now - timedelta(seconds=grace_seconds),
    ).exclude(lease_until__gt=now)
    return sorted(set(rows.values_list("endpoint_id", flat=True)))
