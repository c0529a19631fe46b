"""The item statistics, from sums the database computes: no per-attempt rows reach Python.

The definitions are Moodle's quiz statistics (docs/analytics.md, "How the figures are computed"), as
fractions instead of percentages:

- facility F = mean(x) / max, x the item's score in an attempt that saw it;
- discrimination index D = r(x, R), Pearson's correlation of x with R = total - x (the rest of the test);
- discriminative efficiency E = cov(x, R) / cov_max(x, R), where cov_max pairs the sorted x with the
  sorted R: the largest covariance these two distributions allow.

Everything is computed from the moments n, Σx, Σx², ΣR, ΣR², ΣxR and the two histograms of x and of R, so the
database answers with one row per question (and per distinct value), whatever the number of attempts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Moments:
    """Sums over the attempts that saw one question: x its score there, r the rest of the attempt's score."""

    n: int
    sx: float
    sxx: float
    sr: float
    srr: float
    sxr: float

    @property
    def mean_x(self) -> float:
        return self.sx / self.n if self.n else 0.0

    @property
    def mean_r(self) -> float:
        return self.sr / self.n if self.n else 0.0

    def _centred(self, total: float, square: float) -> float:
        # Σ(v - mean)² = Σv² - (Σv)²/n; clamped, since rounding may leave -1e-12 for a constant column.
        return max(0.0, square - total * total / self.n)

    @property
    def ssx(self) -> float:
        return self._centred(self.sx, self.sxx)

    @property
    def ssr(self) -> float:
        return self._centred(self.sr, self.srr)

    @property
    def sp(self) -> float:
        """Σ(x - mean x)(R - mean R): the covariance times n - 1."""
        return self.sxr - self.sx * self.sr / self.n


def facility(moments: Moments, maximum: float) -> float | None:
    if not moments.n or maximum <= 0:
        return None
    return moments.mean_x / maximum


def discrimination(moments: Moments) -> float | None:
    """Pearson's r of the item with the rest of the test; None when either never varies (or n < 2)."""
    if moments.n < 2:
        return None
    denominator = math.sqrt(moments.ssx * moments.ssr)
    if denominator <= 1e-12:
        return None
    return max(-1.0, min(1.0, moments.sp / denominator))


def sorted_cross_products(
    x_counts: Iterable[tuple[float, int]], r_counts: Iterable[tuple[float, int]], mean_x: float, mean_r: float
) -> float:
    """Σ (x₍ᵢ₎ - mean x)(R₍ᵢ₎ - mean R) with both sorted ascending, from their histograms (value, count).

    Walks both histograms at once: each run of equal x meets runs of equal R for as many places as overlap."""
    xs = sorted(x_counts)
    rs = sorted(r_counts)
    total, i, j = 0.0, 0, 0
    left_x = xs[0][1] if xs else 0
    left_r = rs[0][1] if rs else 0
    while i < len(xs) and j < len(rs):
        step = min(left_x, left_r)
        total += step * (xs[i][0] - mean_x) * (rs[j][0] - mean_r)
        left_x -= step
        left_r -= step
        if not left_x:
            i += 1
            left_x = xs[i][1] if i < len(xs) else 0
        if not left_r:
            j += 1
            left_r = rs[j][1] if j < len(rs) else 0
    return total


def efficiency(
    moments: Moments, x_counts: Iterable[tuple[float, int]], r_counts: Iterable[tuple[float, int]]
) -> float | None:
    """cov(x, R) / cov_max(x, R); None when the maximum is 0 (a constant item or rest)."""
    if moments.n < 2:
        return None
    maximum = sorted_cross_products(x_counts, r_counts, moments.mean_x, moments.mean_r)
    if maximum <= 1e-12:
        return None
    return moments.sp / maximum


def upper_threshold(score_counts: Iterable[tuple[float, int]], share: float = 0.27) -> float | None:
    """The lowest total in the upper group: the best ``share`` of attempts, ties at the cut included.

    The group holds the ``ceil(share * n)`` best attempts and everyone tied with the last of them."""
    counts = sorted(((score, count) for score, count in score_counts if count), reverse=True)
    n = sum(count for _, count in counts)
    if not n:
        return None
    wanted, seen = max(1, math.ceil(share * n)), 0
    for score, count in counts:
        seen += count
        if seen >= wanted:
            return score
    return counts[-1][0]
