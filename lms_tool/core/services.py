from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from . import audit_guard, lean
from .models import AuditEvent


def request_origin(request: HttpRequest) -> dict[str, str]:
    """Where a page or admin action came from, for ``audit_record(**request_origin(request))``.

    The address is truncated (IPv4 to its /24, IPv6 to its /48) so the audit log holds no personal
    address, only the network it came from; the user agent is kept as sent, cut to 255 characters."""
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        network = ""
    else:
        prefix = 24 if address.version == 4 else 48
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return {"address": network, "user_agent": str(request.META.get("HTTP_USER_AGENT") or "")[:255]}


# The origin of the request being served (set by core.origin.RequestOriginMiddleware around every view), so
# each page, admin or API action records where it came from without threading the request through services.
# Kept as the request and worked out at the first audit line: most requests write none, and parsing the
# address costs every request (docs/benchmarks.md, Launch).
_origin: ContextVar[HttpRequest | dict[str, str] | None] = ContextVar("audit_origin", default=None)


@contextlib.contextmanager
def audit_origin(request: HttpRequest) -> Iterator[None]:
    """Audit lines written inside carry ``request_origin(request)`` unless they are given their own."""
    token = _origin.set(request)
    try:
        yield
    finally:
        _origin.reset(token)


def _origin_of(address: str | None, user_agent: str | None) -> tuple[str, str]:
    current = _origin.get() or {}
    if isinstance(current, HttpRequest):
        worked_out = getattr(current, "_audit_origin", None)
        if worked_out is None:
            worked_out = request_origin(current)
            setattr(current, "_audit_origin", worked_out)  # noqa: B010 - not a declared attribute of HttpRequest
        current = worked_out
    if address is None:
        address = current.get("address", "")
    if user_agent is None:
        user_agent = current.get("user_agent", "")
    return address, user_agent[:255]


# The lines of an ``audit_together()`` block, written as one statement when it ends.
_together: ContextVar[list[AuditEvent] | None] = ContextVar("audit_together", default=None)


@contextlib.contextmanager
def audit_together() -> Iterator[None]:
    """The audit lines recorded inside go in as one statement as the block ends (a submit's two lines: its own and
    its score's), in the caller's transaction; nothing is written if the block raises. Until then the lines
    ``audit_record`` returns have no key. Use it inside ``transaction.atomic``, so the lines commit or roll back
    with the change they record."""
    lines: list[AuditEvent] = []
    token = _together.set(lines)
    try:
        yield
    finally:
        _together.reset(token)
    lean.insert_many(AuditEvent, lines)


def _line(r: dict[str, Any]) -> AuditEvent:
    address, user_agent = _origin_of(r.get("address"), r.get("user_agent"))
    return AuditEvent(
        actor_type=r["actor_type"],
        actor_id=str(r.get("actor_id", "")),
        action=r["action"],
        object_type=r["object_type"],
        object_id=str(r["object_id"]),
        source=r.get("source", ""),
        address=address,
        user_agent=user_agent,
        before=r.get("before"),
        after=r.get("after"),
    )


def audit_record(
    *,
    actor_type: str,
    actor_id: str = "",
    action: str,
    object_type: str,
    object_id: Any,
    source: str = "",
    address: str | None = None,
    user_agent: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one line to the audit log; ``address``/``user_agent`` default to the current request's origin.

    One insert built once (``lean.insert_many``), as ``AuditEvent.objects.create`` writes it; inside
    ``audit_together()`` the line waits for the block's end."""
    line = _line(
        {
            "actor_type": actor_type,
            "actor_id": actor_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "source": source,
            "address": address,
            "user_agent": user_agent,
            "before": before,
            "after": after,
        }
    )
    together = _together.get()
    if together is not None:
        together.append(line)
        return line
    (line,) = lean.insert_many(AuditEvent, [line])
    return line


def audit_record_many(*, records: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append many lines in one statement (a batch of score posts); each dict takes ``audit_record``'s
    keyword arguments."""
    return lean.insert_many(AuditEvent, [_line(r) for r in records])


@transaction.atomic
def audit_purge(*, before: datetime, actor_id: str = "audit_purge") -> int:
    """Delete the audit lines older than ``before`` (the retention period) and say so in the log itself.

    The only deletion the database lets through (lms_tool/core/audit_guard.py): the purge window is open
    for this transaction only, and only for rows older than ``before``."""
    with audit_guard.purge_window(connection, before=before), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE created_at < %s", [before])  # noqa: S608
        deleted = cursor.rowcount
    audit_record(
        actor_type=AuditEvent.Actor.SYSTEM,
        actor_id=actor_id,
        action="audit.purged",
        object_type="audit_log",
        object_id="",
        after={"deleted": deleted, "before": before.isoformat()},
    )
    return deleted
