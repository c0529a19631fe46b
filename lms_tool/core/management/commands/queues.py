"""`manage.py queues`: how much work waits where, and for how long (docs/production.md, "Outages and queues").

Reads the outbox tables (scores, webhook deliveries, AI generations, roster syncs) and, when Redis is
the broker, the length of each Celery queue. Models are looked up by name: core imports no app.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Min
from django.utils import timezone

from lti_config.celery import QUEUES

# (label, model, filter of what waits, field giving its age)
WAITING: list[tuple[str, str, dict[str, Any], str]] = [
    ("scores to post", "grading.Score", {"passback_state": "pending"}, "created_at"),
    ("scores dead-lettered", "grading.Score", {"passback_state": "dead"}, "created_at"),
    ("webhook deliveries due", "webhooks.Delivery", {"state": "pending"}, "created_at"),
    ("quiz generations unfinished", "quizzes.GenerationRun", {"state__in": ["queued", "running"]}, "created_at"),
    ("deck generations unfinished", "flashcards.DeckGeneration", {"status": "pending"}, "created_at"),
    ("roster syncs queued", "roster.RosterSync", {"status": "queued"}, "updated_at"),
]


def _age(oldest: datetime | None) -> str:
    if oldest is None:
        return "-"
    seconds = int((timezone.now() - oldest).total_seconds())
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def waiting_rows() -> list[tuple[str, int, str]]:
    rows = []
    for label, name, where, field in WAITING:
        model = apps.get_model(name)
        found = model.objects.filter(**where).aggregate(oldest=Min(field))
        rows.append((label, model.objects.filter(**where).count(), _age(found["oldest"])))
    return rows


def broker_rows() -> list[tuple[str, int | None]]:
    """Messages waiting in each Celery queue (Redis lists); None when the broker is not Redis."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return [(queue, None) for queue in QUEUES]
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    # kombu keeps a queue's messages in a list named after it (and suffixed lists for priorities).
    return [(queue, int(client.llen(queue))) for queue in QUEUES]


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
