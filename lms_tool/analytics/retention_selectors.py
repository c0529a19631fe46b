"""Reads for the course's retention view: recall now and in 7 days per concept and per learner, the course's
retention week by week, and the concepts most forgotten with their cards.

Now and in 7 days come from one read of the course's card states (``flashcards.selectors.course_predictions``,
numpy over arrays, each learner's fitted FSRS weights included). The history is one SQL aggregate over the
review log: for each week's end, every (learner, card) memory as its last review before then left it, its
recall predicted with fsrs's default forgetting curve (lms_tool/flashcards/retention.py explains the formula).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection
from django.utils import timezone

from lms_tool.flashcards import retention
from lms_tool.flashcards import selectors as flashcard_selectors
from lms_tool.flashcards.models import Card, Deck, ReviewLog
from lms_tool.lti.models import Context, LtiUser

from .risk_selectors import concepts_of

DAYS = 7
WEEKS = 12


@dataclass
class HistoryPoint:
    at: datetime
    recall: float
    memories: int


def _history_sql(points: int) -> str:
    log, deck = ReviewLog._meta.db_table, Deck._meta.db_table
    if connection.vendor == "postgresql":
        point = "CAST(%s AS timestamptz)"
        elapsed = "EXTRACT(EPOCH FROM (p.at - l.r)) / 86400.0"
        before = "l.r <= p.at AND (l.nxt IS NULL OR l.nxt > p.at)"
    else:
        point = "%s"
        # Whole seconds, exact (julianday's floating days can land a hair under a whole day).
        elapsed = "(CAST(strftime('%%s', p.at) AS INTEGER) - CAST(strftime('%%s', l.r) AS INTEGER)) / 86400.0"
        before = "julianday(l.r) <= julianday(p.at) AND (l.nxt IS NULL OR julianday(l.nxt) > julianday(p.at))"
    union = " UNION ALL ".join([f"SELECT {point} AS at"] * points)
    # Each review's stability holds until the same learner's next review of the same card (LEAD); a week's end
    # counts the memories whose last review before it is that review. Constants only: no input reaches the SQL.
    return (
        f"SELECT p.at, AVG(POWER(1.0 + %s * FLOOR({elapsed}) / NULLIF(l.s, 0), %s)), COUNT(*) "  # noqa: S608
        f"FROM ({union}) AS p JOIN ("
        f"SELECT rl.reviewed_at AS r, rl.stability_after AS s, LEAD(rl.reviewed_at) OVER "
        f"(PARTITION BY rl.learner_id, rl.card_id ORDER BY rl.reviewed_at, rl.id) AS nxt "
        f"FROM {log} rl JOIN {deck} d ON d.id = rl.deck_id WHERE d.context_id = %s"
        f") AS l ON {before} GROUP BY p.at ORDER BY p.at"
    )


def retention_history(*, context: Context, now: datetime | None = None, weeks: int = WEEKS) -> list[HistoryPoint]:
    """The course's mean predicted recall at the end of each of the last ``weeks`` weeks (ending now), from the
    first week with a review on."""
    now = now or timezone.now()
    ats = [now - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    decay, factor = retention.decay_factor()
    params = [connection.ops.adapt_datetimefield_value(at) for at in ats]
    with connection.cursor() as cursor:
        cursor.execute(_history_sql(len(ats)), [factor, decay, *params, context.pk])
        rows = cursor.fetchall()
    found = {}
    for at, recall, count in rows:
        found[_as_key(at)] = (float(recall) if recall is not None else float("nan"), int(count))
    return [HistoryPoint(at, *found[_as_key(at)]) for at in ats if _as_key(at) in found]


def _as_key(value: object) -> str:
    """Points come back as the database gives them (a datetime, or SQLite's text): compare by their minute."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)[:16]


@dataclass
class Row:
    label: str
    now: float
    later: float
    memories: int
    lapses: int = 0
    key: int | str = ""


@dataclass
class ForgottenConcept:
    concept: str
    now: float
    later: float
    lapses: int
    cards: list[Row] = field(default_factory=list)


@dataclass
class RetentionView:
    concepts: list[Row]
    learners: list[Row]
    forgotten: list[ForgottenConcept]
    history: list[HistoryPoint]
    days: int = DAYS

    @property
    def empty(self) -> bool:
        return not self.concepts and not self.history


def _grouped(keys: np.ndarray, r_now: np.ndarray, r_later: np.ndarray, lapses: np.ndarray) -> dict[int, Row]:
    unique, mean_now, counts = retention.group_mean(keys, r_now)
    _, mean_later, _ = retention.group_mean(keys, r_later)
    _, lapse_sums = retention.group_sum(keys, lapses.astype(np.float64))
    return {
        int(k): Row("", float(n), float(lat), int(c), int(lp), int(k))
        for k, n, lat, c, lp in zip(unique, mean_now, mean_later, counts, lapse_sums, strict=True)
    }


def retention_view(*, context: Context, now: datetime | None = None, days: int = DAYS) -> RetentionView:
    now = now or timezone.now()
    arrays, r_now, r_later = flashcard_selectors.course_predictions(context=context, now=now, days=days)
    per_card = _grouped(arrays.card, r_now, r_later, arrays.lapses)
    per_learner = _grouped(arrays.learner, r_now, r_later, arrays.lapses)
    names = dict(LtiUser.objects.filter(pk__in=list(per_learner)).values_list("pk", "name"))
    learners = sorted(per_learner.values(), key=lambda r: r.now)
    for row in learners:
        row.label = names.get(int(row.key), "") or f"Learner {row.key}"

    cards = {
        pk: (front, concepts_of(tags, front))
        for pk, front, tags in Card.objects.filter(deck__context=context, pk__in=list(per_card)).values_list(
            "pk", "front", "tags"
        )
    }
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    members: dict[str, list[Row]] = defaultdict(list)
    for pk, row in per_card.items():
        front, named = cards.get(pk, ("", []))
        row.label = front
        for concept in named:
            acc = sums[concept]
            acc[0] += row.now * row.memories
            acc[1] += row.later * row.memories
            acc[2] += row.memories
            acc[3] += row.lapses
            members[concept].append(row)
    concepts = sorted(
        (Row(c, a[0] / a[2], a[1] / a[2], int(a[2]), int(a[3]), c) for c, a in sums.items() if a[2]),
        key=lambda r: (r.now, r.label),
    )
    forgotten = [
        ForgottenConcept(c.label, c.now, c.later, c.lapses, sorted(members[c.label], key=lambda r: r.now)[:5])
        for c in concepts[:5]
        if c.now < 0.9 or c.lapses
    ]
    return RetentionView(concepts, learners, forgotten, retention_history(context=context, now=now))


@dataclass
class Chart:
    """A server-rendered line chart of the history: coordinates ready for the SVG template."""

    width: int
    height: int
    points: list[tuple[float, float, HistoryPoint]]
    path: str
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor (the ends stay inside the chart)
    left: int = 44
    bottom: int = 0


def history_chart(history: list[HistoryPoint], *, width: int = 640, height: int = 240) -> Chart | None:
    """Recall 0-100% on y, the weeks on x; None with nothing to draw."""
    drawn = [p for p in history if p.recall == p.recall]  # NaN-free
    if not drawn:
        return None
    left, right, top, bottom = 44, 16, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom
    step = inner_w / max(len(drawn) - 1, 1)
    points = [(round(left + i * step, 1), round(top + (1 - p.recall) * inner_h, 1), p) for i, p in enumerate(drawn)]
    path = "M" + " L".join(f"{x},{y}" for x, y, _ in points)
    y_ticks = [(round(top + (1 - v) * inner_h, 1), f"{round(v * 100)}%") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    every = max(1, len(points) // 6)
    shown = [i for i in range(len(points)) if i % every == 0 or i == len(points) - 1]
    if len(shown) > 1 and shown[-1] - shown[-2] < every:
        shown.pop(-2)  # the last week is always labelled; its neighbour gives way
    x_labels = [
        (
            points[i][0],
            points[i][2].at.strftime("%d %b"),
            "start" if i == 0 else "end" if i == len(points) - 1 else "middle",
        )
        for i in shown
    ]
    return Chart(width, height, points, path, y_ticks, x_labels, left, height - bottom)
