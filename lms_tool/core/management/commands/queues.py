"""`manage.py queues`: how much work waits where, and for how long (docs/production.md, "Outages and queues").

Reads the outbox tables (scores, webhook deliveries, AI generations, roster syncs) and, when Redis is
the broker, the length of each Celery queue, through lms_tool/core/selectors.py (which `/healthz/detail`
and `/metrics` read too).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from lms_tool.core import selectors


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def waiting_rows() -> list[tuple[str, int, str]]:
    now = timezone.now()
    return [(w.label, w.count, _age(w.age_seconds(now))) for w in selectors.waiting()]


def broker_rows() -> list[tuple[str, int | None]]:
    """Messages waiting in each Celery queue (Redis lists); None when the broker is not Redis."""
    return list(selectors.broker_depths().items())


class Command(BaseCommand):
    help = "Print each queue's depth and the age of its oldest waiting item."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{'waiting in the database':32} {'count':>7}  oldest")
        for label, count, age in waiting_rows():
            self.stdout.write(f"{label:32} {count:>7}  {age}")
        self.stdout.write(f"\n{'broker queue':32} {'messages':>7}")
        try:
            for queue, length in broker_rows():
                self.stdout.write(f"{queue:32} {'n/a' if length is None else length:>7}")
        except Exception as exc:  # noqa: BLE001 - redis raises its own; the database part is still useful
            self.stderr.write(f"The broker did not answer: {exc}")
