"""Predicted retrievability for many cards at once, with numpy.

It is fsrs's ``Scheduler.get_card_retrievability`` written over arrays: R = (1 + F * t / S) ** D with
D = -w[20] and F = 0.9 ** (1 / D) - 1, where t is the number of *whole* days since the last review
(fsrs takes ``timedelta.days``), and R = 0 for a card never reviewed. Card by card, fsrs needs
~330 ms for a million cards; this needs a few milliseconds (bench/flashcards.py).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from fsrs.scheduler import DEFAULT_PARAMETERS

DAY_US = 86_400_000_000
NEVER = np.iinfo(np.int64).min  # last_review of a card never reviewed


def decay_factor(parameters: Sequence[float] = DEFAULT_PARAMETERS) -> tuple[float, float]:
    decay = -float(parameters[20])
    return decay, 0.9 ** (1 / decay) - 1


def epoch_us(moment: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding at day boundaries)."""
    return calendar.timegm(moment.utctimetuple()) * 1_000_000 + moment.microsecond


def epoch_us_array(moments: Iterable[datetime | None]) -> np.ndarray:
    return np.fromiter((NEVER if m is None else epoch_us(m) for m in moments), dtype=np.int64)


def retrievability(
    stability: np.ndarray,
    last_review_us: np.ndarray,
    at_us: int,
    decay: float | np.ndarray,
    factor: float | np.ndarray,
) -> np.ndarray:
    """R for every card at ``at_us``; ``stability`` NaN or ``last_review_us`` NEVER give 0, as in fsrs."""
    reviewed = last_review_us != NEVER
    elapsed = np.maximum((at_us - last_review_us) // DAY_US, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.power(1.0 + factor * (elapsed / stability), decay)
    return np.where(reviewed & np.isfinite(r), r, 0.0)


@dataclass
class StateArrays:
    """Columns of many CardState rows, as arrays (one position per row)."""

    learner: np.ndarray
    card: np.ndarray
    stability: np.ndarray
    last_review_us: np.ndarray
    state: np.ndarray
    lapses: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, int, float | None, datetime | None, int, int]]) -> StateArrays:
        """Rows of (learner_id, card_id, stability, last_review, state, lapses)."""
        n = len(rows)
        return cls(
            learner=np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
            card=np.fromiter((r[1] for r in rows), dtype=np.int64, count=n),
            stability=np.fromiter((np.nan if r[2] is None else r[2] for r in rows), dtype=np.float64, count=n),
            last_review_us=epoch_us_array(r[3] for r in rows),
            state=np.fromiter((r[4] for r in rows), dtype=np.int8, count=n),
            lapses=np.fromiter((r[5] for r in rows), dtype=np.int64, count=n),
        )

    def __len__(self) -> int:
        return len(self.card)


def group_mean(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unique keys, mean of values per key, count per key), by bincount over the keys' codes."""
    unique, codes = np.unique(keys, return_inverse=True)
    counts = np.bincount(codes, minlength=len(unique))
    sums = np.bincount(codes, weights=values, minlength=len(unique))
    with np.errstate(invalid="ignore"):
        return unique, sums / counts, counts


def group_sum(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, codes = np.unique(keys, return_inverse=True)
    return unique, np.bincount(codes, weights=values, minlength=len(unique))
