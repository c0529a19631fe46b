"""Prometheus metrics for `/metrics` (docs/production.md, "Objectives and alerts").

Two sources, chosen by where the event happens:

* Launches happen only in web processes and leave no row behind (a launch is kept in the cache), so they
  are counted in memory: with ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn, several workers) each process
  writes its counts to a file there and a scrape adds them up (prometheus-client's multiprocess mode);
  without it (one process, ``make run``) the process's own counter is served.
* Everything a worker does (score posts, deliveries, roster syncs, generations) is computed at scrape time
  from the database: the worker may run in another container whose memory no web process can read, and
  the rows are the truth anyway. The score-post latency histogram counts posted scores by how long they
  took from submission (the score's creation) to the platform's acknowledgement (``posted_at``), so it is
  a true cumulative histogram: it only grows, except when rows are deleted (a tenant's offboarding), which
  Prometheus' ``rate()`` reads as a counter reset.

Labels are bounded: registration (its id), queue, outcome, refusal code, state. Never a course or a person.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from . import selectors

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Counted in the web processes (see the module docstring). Outcome: launched, or refused with the
# LaunchError code (a fixed set named in lms_tool/lti/launch.py), or "none" for a launch that launched.
WEB = CollectorRegistry(auto_describe=True)
LAUNCHES = Counter("lms_launches", "LTI launches by outcome and refusal code.", ["outcome", "code"], registry=WEB)

# Seconds from a student's submission to the platform's acknowledgement of the score.
LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


def launch_observed(*, outcome: str, code: str = "") -> None:
    """Count one launch: ``outcome`` "launched" or "refused" (with the refusal's code)."""
    LAUNCHES.labels(outcome=outcome, code=code or "none").inc()


class _WebCounters:
    """This process's own counters (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from WEB.collect()


class DatabaseCollector:
    """Gauges and cumulative counts computed from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._registrations(now)
        yield from self._latency()
        yield from self._queues(now)
        dead = selectors.dead_letters()
        metric = GaugeMetricFamily("lms_dead_letters", "Dead-lettered items waiting for an admin.", labels=["kind"])
        for kind, count in dead.items():
            metric.add_metric([kind], count)
        yield metric
        hooks = selectors.webhook_lag()
        yield GaugeMetricFamily(
            "lms_webhook_deliveries_pending", "Webhook deliveries not yet delivered.", value=hooks["pending"]
        )
        oldest = hooks["oldest_pending_at"]
        yield GaugeMetricFamily(
            "lms_webhook_delivery_lag_seconds",
            "Age of the oldest webhook delivery not yet delivered (0 when none waits).",
            value=0 if oldest is None else (now - oldest).total_seconds(),
        )
        metric = GaugeMetricFamily(
            "lms_generations", "AI generations unfinished, by kind and state.", labels=["kind", "state"]
        )
        for kind, states in selectors.generations(now).items():
            for state, count in states.items():
                metric.add_metric([kind, state], count)
        yield metric

    def _registrations(self, now: Any) -> Iterator[Metric]:
        rows = selectors.registrations()
        info = GaugeMetricFamily(
            "lms_registration_info", "Registrations the tool knows (1 each).", labels=["registration", "name"]
        )
        depth = GaugeMetricFamily(
            "lms_score_outbox_depth", "Scores waiting to be posted to the platform.", labels=["registration"]
        )
        oldest = GaugeMetricFamily(
            "lms_score_outbox_oldest_age_seconds",
            "Age of the oldest score waiting to be posted (0 when none waits).",
            labels=["registration"],
        )
        dead = GaugeMetricFamily(
            "lms_score_dead_letters", "Scores the platform would not take.", labels=["registration"]
        )
        posted = CounterMetricFamily("lms_scores_posted", "Scores the platform acknowledged.", labels=["registration"])
        roster = GaugeMetricFamily(
            "lms_roster_oldest_sync_age_seconds",
            "Age of the least recently read course roster (never-read rosters count from their creation).",
            labels=["registration"],
        )
        failing = GaugeMetricFamily(
            "lms_roster_syncs_failing", "Course rosters whose last read failed.", labels=["registration"]
        )
        for r in rows:
            label = [str(r["id"])]
            info.add_metric([*label, r["name"]], 1)
            depth.add_metric(label, r["scores_pending"])
            at = r["oldest_pending_at"]
            oldest.add_metric(label, 0 if at is None else (now - at).total_seconds())
            dead.add_metric(label, r["dead_letters"])
            posted.add_metric(label, r["scores_posted"])
            at = r["oldest_roster_sync_at"]
            roster.add_metric(label, 0 if at is None else (now - at).total_seconds())
            failing.add_metric(label, r["rosters_failing"])
        yield from (info, depth, oldest, dead, posted, roster, failing)

    def _latency(self) -> Iterator[Metric]:
        Score = apps.get_model("grading.Score")
        lag = ExpressionWrapper(F("posted_at") - F("created_at"), output_field=DurationField())
        buckets = {
            f"le_{i}": Count("pk", filter=Q(lag__lte=timedelta(seconds=le))) for i, le in enumerate(LATENCY_BUCKETS)
        }
        rows = (
            Score.objects.filter(posted_at__isnull=False)
            .annotate(lag=lag)
            .values(registration=F("resource_link__context__registration_id"))
            .annotate(count=Count("pk"), total=Sum("lag"), **buckets)
        )
        metric = HistogramMetricFamily(
            "lms_score_post_latency_seconds",
            "Seconds from a submission to the platform's acknowledgement of its score.",
            labels=["registration"],
        )
        for row in rows:
            counts: dict[str, Any] = dict(row)
            points = [(str(le), counts[f"le_{i}"]) for i, le in enumerate(LATENCY_BUCKETS)]
            points.append(("+Inf", row["count"]))
            total = row["total"]
            metric.add_metric(
                [str(row["registration"])],
                points,
                sum_value=total.total_seconds() if isinstance(total, timedelta) else float(total or 0) / 1e6,
            )
        yield metric

    def _queues(self, now: Any) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "lms_queue_waiting", "Items waiting in the database for each queue's workers.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "lms_queue_oldest_age_seconds", "Age of the oldest item waiting for each queue.", labels=["queue"]
        )
        totals: dict[str, list[float]] = {}
        for row in selectors.waiting():
            if row.label.endswith("dead-lettered"):
                continue  # nobody works these off: lms_dead_letters
            entry = totals.setdefault(row.queue, [0, 0.0])
            entry[0] += row.count
            entry[1] = max(entry[1], row.age_seconds(now) or 0.0)
        for queue, (count, age) in totals.items():
            waiting.add_metric([queue], count)
            oldest.add_metric([queue], age)
        yield from (waiting, oldest)
        depth = GaugeMetricFamily("lms_queue_depth", "Messages waiting in each broker queue.", labels=["queue"])
        up = 1
        try:
            for queue, length in selectors.broker_depths().items():
                if length is not None:
                    depth.add_metric([queue], length)
        except Exception:  # noqa: BLE001 - redis raises its own; the rest of the scrape is still right
            up = 0
        yield depth
        yield GaugeMetricFamily("lms_broker_up", "1 when the broker answered this scrape.", value=up)


def exposition() -> bytes:
    """The text a scrape gets: the web counters (every process's, in multiprocess mode) and the database's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_WebCounters())  # type: ignore[arg-type]
    registry.register(DatabaseCollector())  # type: ignore[arg-type]
    return generate_latest(registry)
