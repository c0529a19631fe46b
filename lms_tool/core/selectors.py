"""Operational reads: what waits in each queue, what is dead-lettered, how fresh scores and rosters are.

Shared by `manage.py queues`, `/healthz/detail` and `/metrics` (docs/production.md, "Objectives and
alerts"), so the three never disagree. Models are looked up by name: core imports no app. Every figure
is computed from database rows (and the broker's queue lengths), so it is right whichever web process
answers and wherever the workers run. Labels are registrations, queues and states — never a course or
a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy, gettext_noop, ngettext_lazy

from lti_config.celery import QUEUES

from .errors import lazy_format


@dataclass(frozen=True)
class Waiting:
    """Items of one kind waiting in the database for a worker of ``queue``."""

    label: str
    queue: str
    count: int
    oldest: datetime | None

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.oldest is None else max(0.0, (now - self.oldest).total_seconds())


# (label, queue that works it off, model, filter of what waits, field giving its age). The labels stay English
# in `manage.py queues` and the JSON; `/healthz/detail`'s page translates them (gettext_noop marks them).
WAITING: list[tuple[str, str, str, dict[str, Any], str]] = [
    (gettext_noop("scores to post"), "passback", "grading.Score", {"passback_state": "pending"}, "created_at"),
    (gettext_noop("scores dead-lettered"), "passback", "grading.Score", {"passback_state": "dead"}, "created_at"),
    (gettext_noop("roster syncs queued"), "passback", "roster.RosterSync", {"status": "queued"}, "updated_at"),
    (gettext_noop("webhook deliveries due"), "webhooks", "webhooks.Delivery", {"state": "pending"}, "created_at"),
    (
        gettext_noop("quiz generations unfinished"),
        "generation",
        "quizzes.GenerationRun",
        {"state__in": ["queued", "running"]},
        "created_at",
    ),
    (
        gettext_noop("deck generations unfinished"),
        "generation",
        "flashcards.DeckGeneration",
        {"status": "pending"},
        "created_at",
    ),
]


def waiting() -> list[Waiting]:
    rows = []
    for label, queue, name, where, field in WAITING:
        found = apps.get_model(name).objects.filter(**where).aggregate(count=Count("pk"), oldest=Min(field))
        rows.append(Waiting(label=label, queue=queue, count=found["count"], oldest=found["oldest"]))
    return rows


def broker_depths() -> dict[str, int | None]:
    """Messages waiting in each Celery queue (Redis lists); None when the broker is not Redis.

    Raises redis' own errors when the broker does not answer: callers say so and show the rest."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return dict.fromkeys(QUEUES)
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        # kombu keeps a queue's messages in a list named after it (and suffixed lists for priorities).
        return {queue: int(client.llen(queue)) for queue in QUEUES}
    finally:
        client.close()


def dead_letters() -> dict[str, int]:
    """Scores the platform would not take (retries exhausted or refused for good) and webhook deliveries
    that ran out of attempts: each needs an admin (replay from the admin, or fix the subscriber)."""
    return {
        "scores": apps.get_model("grading.Score").objects.filter(passback_state__in=["dead", "failed"]).count(),
        "webhook_deliveries": apps.get_model("webhooks.Delivery").objects.filter(state="dead").count(),
    }


def registrations() -> list[dict[str, Any]]:
    """Per registration: scores waiting and their oldest, dead letters, the last score the platform
    acknowledged, and the oldest roster sync (the course roster read longest ago, never-synced ones by
    their creation)."""
    Registration = apps.get_model("lti.Registration")
    Score = apps.get_model("grading.Score")
    RosterSync = apps.get_model("roster.RosterSync")
    rows: dict[int, dict[str, Any]] = {
        r["pk"]: {
            "id": r["pk"],
            "name": r["name"] or f"{r['issuer']} ({r['client_id']})",
            "active": r["is_active"],
            "scores_pending": 0,
            "oldest_pending_at": None,
            "dead_letters": 0,
            "last_score_posted_at": None,
            "scores_posted": 0,
            "rosters": 0,
            "rosters_failing": 0,
            "oldest_roster_sync_at": None,
        }
        for r in Registration.objects.values("pk", "name", "issuer", "client_id", "is_active")
    }
    scores = Score.objects.values(registration=F("resource_link__context__registration_id")).annotate(
        pending=Count("pk", filter=Q(passback_state="pending")),
        oldest_pending=Min("created_at", filter=Q(passback_state="pending")),
        dead=Count("pk", filter=Q(passback_state__in=["dead", "failed"])),
        posted=Count("pk", filter=Q(posted_at__isnull=False)),
        last_posted=Max("posted_at"),
    )
    for s in scores:
        row = rows.get(s["registration"])
        if row is not None:
            row.update(
                scores_pending=s["pending"],
                oldest_pending_at=s["oldest_pending"],
                dead_letters=s["dead"],
                scores_posted=s["posted"],
                last_score_posted_at=s["last_posted"],
            )
    # Course-wide rosters only: a resource link's member list follows its course's.
    syncs = (
        RosterSync.objects.filter(resource_link__isnull=True)
        .values(registration=F("context__registration_id"))
        .annotate(
            rosters=Count("pk"),
            failing=Count("pk", filter=Q(status="failed")),
            oldest_success=Min("last_success_at"),
            never=Count("pk", filter=Q(last_success_at__isnull=True)),
            oldest_never=Min("created_at", filter=Q(last_success_at__isnull=True)),
        )
    )
    for sync in syncs:
        row = rows.get(sync["registration"])
        if row is not None:
            oldest = [t for t in (sync["oldest_success"], sync["oldest_never"]) if t is not None]
            row.update(
                rosters=sync["rosters"],
                rosters_failing=sync["failing"],
                oldest_roster_sync_at=min(oldest) if oldest else None,
            )
    return list(rows.values())


def webhook_lag() -> dict[str, Any]:
    """Deliveries waiting and when the oldest of them was due (its lag behind the event)."""
    Delivery = apps.get_model("webhooks.Delivery")
    found = Delivery.objects.filter(state="pending").aggregate(count=Count("pk"), oldest=Min("created_at"))
    return {"pending": found["count"], "oldest_pending_at": found["oldest"]}


def generations(now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Quiz and deck generations queued, running and stuck.

    Stuck: unfinished, asked for longer ago than a lease lasts, and nobody holds its lease (the worker
    that ran it is gone; the beat will mark it failed after GENERATION_STUCK_SECONDS)."""
    from .leases import lease_held

    now = now or timezone.now()
    cut = now - timedelta(seconds=settings.GENERATION_LEASE_SECONDS)
    GenerationRun = apps.get_model("quizzes.GenerationRun")
    DeckGeneration = apps.get_model("flashcards.DeckGeneration")
    runs = list(GenerationRun.objects.filter(state__in=["queued", "running"]).values_list("pk", "state", "created_at"))
    decks = list(DeckGeneration.objects.filter(status="pending").values_list("pk", "created_at"))
    quizzes = {
        "queued": sum(1 for _, state, _ in runs if state == "queued"),
        "running": sum(1 for _, state, _ in runs if state == "running"),
        "stuck": sum(1 for pk, _, created in runs if created < cut and not lease_held(f"quizzes.generation:{pk}")),
    }
    held = [pk for pk, _ in decks if lease_held(f"flashcards.generation:{pk}")]
    flashcards = {
        "queued": len(decks) - len(held),
        "running": len(held),
        "stuck": sum(1 for pk, created in decks if created < cut and pk not in held),
    }
    return {"quizzes": quizzes, "flashcards": flashcards}


def _age(at: datetime | None, now: datetime) -> int | None:
    return None if at is None else max(0, int((now - at).total_seconds()))


_DEAD_SCORES = ngettext_lazy("%(count)s score(s) dead-lettered", "%(count)s score(s) dead-lettered", "count")
_DEAD_DELIVERIES = ngettext_lazy(
    "%(count)s webhook delivery(ies) dead-lettered", "%(count)s webhook delivery(ies) dead-lettered", "count"
)
_STUCK = ngettext_lazy("%(count)s generation(s) stuck", "%(count)s generation(s) stuck", "count")


def _count_in(message: Any, count: int) -> str:
    return str(message % {"count": count})  # a lazy plural's ``%`` translates, in the language active now


# ``message`` with its count, still lazy: translated (and its plural chosen) where it is shown.
_counted = lazy(_count_in, str)


def health_detail() -> dict[str, Any]:
    """Everything `/healthz/detail` shows (tool administrators only): queues, dead letters, per-registration
    freshness of scores and rosters, generations. Ages are in seconds; times in ISO 8601."""
    now = timezone.now()
    try:
        depths: dict[str, int | None] = broker_depths()
        broker_error: Any = ""
    except Exception as exc:  # noqa: BLE001 - redis raises its own; the database part is still useful
        depths = dict.fromkeys(QUEUES)
        broker_error = lazy_format(gettext_lazy("the broker did not answer: %(error)s"), error=exc.__class__.__name__)
    rows = waiting()
    queues = [
        {
            "queue": queue,
            "broker_depth": depths[queue],
            "waiting": [
                {"what": w.label, "count": w.count, "oldest_age_seconds": w.age_seconds(now)}
                for w in rows
                if w.queue == queue
            ],
        }
        for queue in QUEUES
    ]
    per_registration = [
        {
            **{k: v for k, v in r.items() if not k.endswith("_at")},
            "oldest_pending_age_seconds": _age(r["oldest_pending_at"], now),
            "last_score_posted_at": r["last_score_posted_at"].isoformat() if r["last_score_posted_at"] else None,
            "last_score_posted_age_seconds": _age(r["last_score_posted_at"], now),
            "oldest_roster_sync_at": r["oldest_roster_sync_at"].isoformat() if r["oldest_roster_sync_at"] else None,
            "oldest_roster_sync_age_seconds": _age(r["oldest_roster_sync_at"], now),
        }
        for r in registrations()
    ]
    hooks = webhook_lag()
    dead = dead_letters()
    gens = generations(now)
    stuck = gens["quizzes"]["stuck"] + gens["flashcards"]["stuck"]
    # Lazy: the page shows them in the request's language, the JSON in English (core/views_ops.py).
    problems = [
        *([broker_error] if broker_error else []),
        *([_counted(_DEAD_SCORES, dead["scores"])] if dead["scores"] else []),
        *([_counted(_DEAD_DELIVERIES, dead["webhook_deliveries"])] if dead["webhook_deliveries"] else []),
        *([_counted(_STUCK, stuck)] if stuck else []),
    ]
    return {
        "status": "attention" if problems else "ok",
        "problems": problems,
        "generated_at": now.isoformat(),
        "queues": queues,
        "dead_letters": dead,
        "webhooks": {
            "pending": hooks["pending"],
            "oldest_pending_age_seconds": _age(hooks["oldest_pending_at"], now),
        },
        "registrations": per_registration,
        "generations": gens,
    }
