"""The bridge to the ``fsrs`` package: every scheduling decision is fsrs's own ``Scheduler.review_card``.

The one thing done here rather than inside fsrs is drawing the fuzz. fsrs draws it from the process-wide
``random()``, so the interval shown on a button could differ from the one the rating then gets. Like Anki,
we draw it from a generator seeded by (learner, card, review number): the formula is fsrs's
(``Scheduler._get_fuzzed_interval``, reproduced in ``fuzzed_days``), only the draw is repeatable, so the
interval on each button is the interval the learner gets. With the same draw, fsrs gives the same result
(tests/flashcards/test_fsrs_equivalence.py replays long histories both ways).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler
from fsrs import State as FsrsState
from fsrs.scheduler import DEFAULT_PARAMETERS, FUZZ_RANGES

RATINGS = (Rating.Again, Rating.Hard, Rating.Good, Rating.Easy)


@dataclass(frozen=True)
class Settings:
    """What a deck (and a learner's fitted weights) give the scheduler."""

    desired_retention: float = 0.9
    learning_steps: tuple[int, ...] = (60, 600)
    relearning_steps: tuple[int, ...] = (600,)
    maximum_interval: int = 36500
    enable_fuzzing: bool = True
    parameters: tuple[float, ...] = tuple(DEFAULT_PARAMETERS)


@lru_cache(maxsize=256)
def unfuzzed_scheduler(settings: Settings) -> Scheduler:
    """fsrs's scheduler for these settings, fuzz off (we add the same fuzz with a repeatable draw)."""
    return Scheduler(
        parameters=settings.parameters,
        desired_retention=settings.desired_retention,
        learning_steps=tuple(timedelta(seconds=s) for s in settings.learning_steps),
        relearning_steps=tuple(timedelta(seconds=s) for s in settings.relearning_steps),
        maximum_interval=settings.maximum_interval,
        enable_fuzzing=False,
    )


def fuzz_draw(learner_pk: int, card_pk: int, reps: int) -> float:
    """The uniform [0, 1) number fsrs would take from ``random()`` for this review, made repeatable."""
    return random.Random(f"fsrs-fuzz:{learner_pk}:{card_pk}:{reps}").random()


def fuzz_range(interval_days: int, maximum_interval: int) -> tuple[int, int]:
    """The days fsrs 6.3.2's fuzz may pick for this interval (``Scheduler._get_fuzzed_interval``)."""
    delta = 1.0
    for fuzz in FUZZ_RANGES:
        delta += fuzz["factor"] * max(min(float(interval_days), fuzz["end"]) - fuzz["start"], 0.0)
    min_ivl = max(2, round(interval_days - delta))
    max_ivl = min(round(interval_days + delta), maximum_interval)
    return min(min_ivl, max_ivl), max_ivl


def fuzzed_days(interval_days: int, maximum_interval: int, draw: float) -> int:
    """fsrs 6.3.2 ``Scheduler._get_fuzzed_interval`` with ``random()`` replaced by ``draw``."""
    if interval_days < 2.5:
        return interval_days
    min_ivl, max_ivl = fuzz_range(interval_days, maximum_interval)
    return min(round(draw * (max_ivl - min_ivl + 1) + min_ivl), maximum_interval)


# (first day, last day) -> cards already due on each of those days (days from now), for load balancing.
Load = Callable[[int, int], Mapping[int, int]]


def balanced_days(interval_days: int, maximum_interval: int, draw: float, load: Load) -> int:
    """Load balancing (like Anki's): of the days fsrs's fuzz allows, the one with the fewest cards already due;
    on a tie, the one nearest the day the fuzz alone would pick. Never outside fsrs's own range, so the
    interval stays one fsrs could have given; only which of those days is chosen spreads the load."""
    fuzzed = fuzzed_days(interval_days, maximum_interval, draw)
    if interval_days < 2.5:
        return fuzzed
    first, last = fuzz_range(interval_days, maximum_interval)
    due = load(first, last)
    return min(range(first, last + 1), key=lambda day: (due.get(day, 0), abs(day - fuzzed), day))


def review(
    settings: Settings, card: FsrsCard, rating: Rating, now: datetime, draw: float, load: Load | None = None
) -> FsrsCard:
    """The card after ``rating`` at ``now``: fsrs's review, then fsrs's fuzz with ``draw`` (balanced by ``load``
    when given)."""
    reviewed, _ = unfuzzed_scheduler(settings).review_card(card, rating, review_datetime=now)
    if settings.enable_fuzzing and reviewed.state == FsrsState.Review:
        # In Review state fsrs schedules whole days: due - now is exactly the unfuzzed interval.
        days = (reviewed.due - now).days
        chosen = (
            fuzzed_days(days, settings.maximum_interval, draw)
            if load is None
            else balanced_days(days, settings.maximum_interval, draw, load)
        )
        reviewed.due = now + timedelta(days=chosen)
    return reviewed


def preview(
    settings: Settings, card: FsrsCard, now: datetime, draw: float, load: Load | None = None
) -> dict[int, timedelta]:
    """The interval each rating would give now, for the buttons."""
    return {int(r): review(settings, card, r, now, draw, load).due - now for r in RATINGS}


def new_card(card_pk: int, now: datetime) -> FsrsCard:
    # An explicit card_id: without one fsrs sleeps 1 ms per Card to make its epoch-millisecond id unique.
    return FsrsCard(card_id=card_pk, due=now)


def human_interval(delta: timedelta) -> str:
    """Short form for a button: ``<1m``, ``10m``, ``5h``, ``3d``, ``2.1mo``, ``1.5y``."""
    # The units and the decimal sign follow the interface's language (docs/translation.md).
    seconds = delta.total_seconds()
    if seconds < 60:
        return _("<1m")
    if seconds < 3600:
        return _("%(n)sm") % {"n": math.floor(seconds / 60 + 0.5)}
    if seconds < 86400:
        return _("%(n)sh") % {"n": math.floor(seconds / 3600 + 0.5)}
    days = seconds / 86400
    if days < 30:
        return _("%(n)sd") % {"n": math.floor(days + 0.5)}
    if days < 365:
        return _("%(n)smo") % {"n": number_format(days / 30, 1)}
    return _("%(n)sy") % {"n": number_format(days / 365, 1)}


def parameters_or_default(parameters: Sequence[float] | None) -> tuple[float, ...]:
    return tuple(float(p) for p in parameters) if parameters else tuple(DEFAULT_PARAMETERS)
