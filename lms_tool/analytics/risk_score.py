"""The at-risk score and its reasons: pure functions of what the tool knows about one learner in one course.

No database here: ``risk_selectors`` gathers the facts with a few grouped queries per course, and
bench/risk.py feeds the same functions facts from a simulated cohort (bench/risk_cohort.py), so the score
the product shows is the score the benchmark evaluates (docs/analytics.md, "Learners who need help").

Each signal is a ratio to the instructor's threshold (1.0 = at the threshold), clipped to [0, 3]; the
score is a logistic combination of the signals with weights fitted on simulated cohorts (WEIGHTS); a learner
is at risk when the score reaches the course's ``risk_threshold``. The reasons are the signals at or past
their threshold, in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CLIP = 3.0


@dataclass(frozen=True)
class Thresholds:
    """What counts as a concern in a course; the instructor changes them (``RiskSettings``)."""

    window_days: int = 7  # an activity not started this many days after it opened (or its due date) is missed
    inactive_days: int = 10  # no activity for this many days
    score_drop: float = 0.15  # quiz scores fell by this much (fraction of the maximum) from earlier to recent
    pass_mark: float = 0.5  # mean quiz score below this
    recall_floor: float = 0.6  # predicted recall on the course's concepts below this
    risk_threshold: float = 0.45  # the score at which a learner is listed


@dataclass(frozen=True)
class Activity:
    """A published quiz or deck as one learner sees it: when it is due for them, and whether they started it."""

    title: str
    due_at: datetime
    started: bool


@dataclass
class LearnerFacts:
    """What the tool recorded about one learner in one course, up to ``now``."""

    now: datetime
    joined_at: datetime
    last_activity_at: datetime | None
    activities: Sequence[Activity] = ()
    scores: Sequence[float] = ()  # submitted quiz attempts' score fractions, oldest first
    recall: float | None = None  # mean predicted recall over the concepts they have studied
    weakest_concepts: Sequence[str] = ()
    held: int = 0  # answers still waiting for an instructor's review


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass
class Assessment:
    score: float
    at_risk: bool
    signals: dict[str, float]
    reasons: list[Reason] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


# Fitted by bench/risk.py --tune on tuning seeds 1-6 (logistic regression on the signals at week 4), then
# rounded; the held-out seeds' figures are in docs/benchmarks.md ("At-risk score"). The fit gave a falling
# trend a small negative weight (beside low scores it adds nothing in the simulated cohort); a fall never
# lowers the risk, so it weighs 0 here and stays a reason in words.
WEIGHTS: dict[str, float] = {
    "inactive": 1.1,
    "missed": 5.7,
    "falling": 0.0,
    "low_scores": 2.3,
    "low_recall": 1.4,
    "held": 0.15,
}
BIAS = -5.0


def _clip(value: float) -> float:
    return min(max(value, 0.0), CLIP)


def _days(later: datetime, earlier: datetime) -> float:
    return max((later - earlier).total_seconds() / 86400.0, 0.0)


def _drop(scores: Sequence[float]) -> float | None:
    """Mean of the earlier half of the scores minus the later half (None with fewer than two scores)."""
    if len(scores) < 2:
        return None
    half = len(scores) // 2
    return sum(scores[:half]) / half - sum(scores[half:]) / (len(scores) - half)


def signals_of(facts: LearnerFacts, t: Thresholds) -> dict[str, float]:
    since = facts.last_activity_at or facts.joined_at
    overdue = [a for a in facts.activities if a.due_at <= facts.now]
    missed = [a for a in overdue if not a.started]
    drop = _drop(facts.scores)
    mean = sum(facts.scores) / len(facts.scores) if facts.scores else None
    return {
        "inactive": _clip(_days(facts.now, since) / t.inactive_days),
        "missed": len(missed) / len(overdue) if overdue else 0.0,
        "falling": _clip(drop / t.score_drop) if drop is not None and drop > 0 else 0.0,
        "low_scores": _clip((1.0 - mean) / (1.0 - t.pass_mark)) if mean is not None else 0.0,
        "low_recall": _clip((1.0 - facts.recall) / (1.0 - t.recall_floor)) if facts.recall is not None else 0.0,
        "held": _clip(float(facts.held)),
    }


def score_of(signals: dict[str, float]) -> float:
    z = BIAS + sum(WEIGHTS[name] * value for name, value in signals.items())
    return 1.0 / (1.0 + math.exp(-z))


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def _names(titles: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(titles[:most])
    if len(titles) <= most:
        return shown
    return _("%(shown)s and %(more)d more") % {"shown": shown, "more": len(titles) - most}


def reasons_of(facts: LearnerFacts, t: Thresholds) -> list[Reason]:
    """The signals at or past the instructor's thresholds, each in words a teacher can act on."""
    reasons = []
    missed = [a.title for a in facts.activities if a.due_at <= facts.now and not a.started]
    if missed:
        reasons.append(
            Reason(
                "not_started",
                ngettext(
                    "Has not started %(count)d published activity past the due date or the %(days)d-day window: "
                    "%(names)s.",
                    "Has not started %(count)d published activities past the due date or the %(days)d-day window: "
                    "%(names)s.",
                    len(missed),
                )
                % {"count": len(missed), "days": t.window_days, "names": _names(missed)},
            )
        )
    since = facts.last_activity_at or facts.joined_at
    idle = int(_days(facts.now, since))
    if idle >= t.inactive_days:
        # The date in the page's language (Django's month names); in English the same "01 Jun 2030" as before.
        values = {"days": idle, "date": dateformat.format(since, "d M Y")}
        if facts.last_activity_at:
            text = _("No activity for %(days)d days (last on %(date)s).") % values
        else:
            text = _("No activity since joining the course for %(days)d days (last on %(date)s).") % values
        reasons.append(Reason("inactive", text))
    drop = _drop(facts.scores)
    if drop is not None and drop >= t.score_drop:
        half = len(facts.scores) // 2
        before = sum(facts.scores[:half]) / half
        after = sum(facts.scores[half:]) / (len(facts.scores) - half)
        reasons.append(
            Reason(
                "falling_scores",
                _("Quiz scores falling: from %(before)s to %(after)s on average.")
                % {"before": _pct(before), "after": _pct(after)},
            )
        )
    if facts.scores:
        mean = sum(facts.scores) / len(facts.scores)
        if mean < t.pass_mark:
            reasons.append(
                Reason(
                    "low_scores",
                    _("Average quiz score %(mean)s, below the %(mark)s you set.")
                    % {"mean": _pct(mean), "mark": _pct(t.pass_mark)},
                )
            )
    if facts.recall is not None and facts.recall < t.recall_floor:
        values = {"recall": _pct(facts.recall), "floor": _pct(t.recall_floor)}
        if facts.weakest_concepts:
            values["names"] = _names(list(facts.weakest_concepts))
            text = _("Predicted recall of the course's concepts %(recall)s, below %(floor)s. Weakest: %(names)s.")
        else:
            text = _("Predicted recall of the course's concepts %(recall)s, below %(floor)s.")
        reasons.append(Reason("low_recall", text % values))
    if facts.held:
        reasons.append(
            Reason(
                "held_for_review",
                ngettext(
                    "%(count)d answer still held for your review: the learner's score is not final.",
                    "%(count)d answers still held for your review: the learner's score is not final.",
                    facts.held,
                )
                % {"count": facts.held},
            )
        )
    return reasons


def assess(facts: LearnerFacts, t: Thresholds) -> Assessment:
    signals = signals_of(facts, t)
    score = score_of(signals)
    reasons = reasons_of(facts, t)
    at_risk = score >= t.risk_threshold
    if at_risk and not [r for r in reasons if r.code != "held_for_review"]:
        # Listed by several signals each below its own threshold: say so rather than show no reason.
        reasons.append(Reason("several_signals", _("Several smaller signals together (see the learner's page).")))
    return Assessment(score=score, at_risk=at_risk, signals=signals, reasons=reasons)
