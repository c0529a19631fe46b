"""The at-risk score on simulated cohorts: precision, recall and AUC at week 4 on held-out seeds.

    .venv/bin/python bench/risk.py            # evaluate the committed weights on held-out seeds 101-110
    .venv/bin/python bench/risk.py --quick    # three held-out seeds
    .venv/bin/python bench/risk.py --tune     # fit weights on tuning seeds 1-6 and print them (not evaluated)

The cohorts come from bench/risk_cohort.py, committed before the weights were fitted. At the start of week 5
(day 28) each learner's facts as the tool would hold them are passed to the product's own functions
(``lms_tool.analytics.risk_score.assess``, default thresholds); the outcome is whether the learner went on to
drop out or finish below the pass mark. The baseline ranks learners by days since their last activity (the
one signal most dashboards show) and flags those idle for the default ``inactive_days``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common
from risk_cohort import Cohort, SimLearner, cohort_generate

from lms_tool.analytics.risk_score import Activity, LearnerFacts, Thresholds, assess, signals_of

START = datetime(2026, 1, 5, tzinfo=UTC)  # day 0 of the simulated term
OBSERVE_DAY = 28  # the morning of week 5: four weeks of data
TUNE_SEEDS = list(range(1, 7))
HELD_OUT = list(range(101, 111))
COHORT = 400


def _at(day: int, hour: int = 12) -> datetime:
    return START + timedelta(days=day, hours=hour)


def facts_of(learner: SimLearner, cohort: Cohort, t: Thresholds, day: int = OBSERVE_DAY) -> LearnerFacts:
    """What the tool would know about the learner on the morning of ``day``."""
    now = START + timedelta(days=day)
    active = [d for d in learner.active_days if d < day]
    attempted = {w for w, (d, _) in learner.attempts.items() if d < day}
    activities = [
        Activity(f"Quiz {w + 1}", START + timedelta(days=opened + t.window_days), w in attempted)
        for w, opened in enumerate(cohort.quiz_open_days)
        if opened < day
    ]
    activities.append(Activity("Deck", START + timedelta(days=t.window_days), any(d < day for d in learner.study_days)))
    scores = [s for d, s in sorted(learner.attempts.values()) if d < day]
    held = sum(1 for submitted, released in learner.held if submitted < day <= released)
    return LearnerFacts(
        now=now,
        joined_at=START,
        last_activity_at=_at(max(active)) if active else None,
        activities=activities,
        scores=scores,
        recall=learner.recall_at(day),
        held=held,
    )


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half): Mann-Whitney U."""
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def precision_recall(flagged: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    tp = int((flagged & labels).sum())
    return (tp / int(flagged.sum()) if flagged.any() else float("nan")), tp / max(int(labels.sum()), 1)


def evaluate(seeds: list[int], t: Thresholds) -> dict[str, float]:
    ours, idle, flagged, idle_flagged, labels = [], [], [], [], []
    for seed in seeds:
        cohort = cohort_generate(seed, COHORT)
        for learner in cohort.learners:
            facts = facts_of(learner, cohort, t)
            result = assess(facts, t)
            since = facts.last_activity_at or facts.joined_at
            days = (facts.now - since).total_seconds() / 86400
            ours.append(result.score)
            flagged.append(result.at_risk)
            idle.append(days)
            idle_flagged.append(days >= t.inactive_days)
            labels.append(learner.needed_help)
    y = np.array(labels)
    p, r = precision_recall(np.array(flagged), y)
    bp, br = precision_recall(np.array(idle_flagged), y)
    # The baseline again, flagging as many learners as the score does (the most idle first): same effort.
    top = np.zeros(len(y), dtype=bool)
    top[np.argsort(-np.array(idle), kind="stable")[: int(np.sum(flagged))]] = True
    mp, mr = precision_recall(top, y)
    return {
        "auc": auc(np.array(ours), y),
        "baseline_auc": auc(np.array(idle), y),
        "precision": p,
        "recall": r,
        "baseline_precision": bp,
        "baseline_recall": br,
        "matched_precision": mp,
        "matched_recall": mr,
        "flagged": float(np.mean(flagged)),
        "learners": len(y),
        "positives": float(y.mean()),
    }


def tune(seeds: list[int], t: Thresholds) -> None:
    """Logistic regression on the signals (plain gradient descent, light L2), then the F1-best threshold."""
    rows, labels = [], []
    for seed in seeds:
        cohort = cohort_generate(seed, COHORT)
        for learner in cohort.learners:
            signals = signals_of(facts_of(learner, cohort, t), t)
            rows.append(list(signals.values()))
            labels.append(learner.needed_help)
    names = list(signals.keys())
    x, y = np.array(rows), np.array(labels, dtype=float)
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(20000):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= 0.1 * (x.T @ (p - y) / len(y) + 1e-3 * w)
        b -= 0.1 * float((p - y).mean())
    print("fitted weights:", {n: round(float(v), 2) for n, v in zip(names, w, strict=True)}, "bias:", round(b, 2))
    p = 1 / (1 + np.exp(-(x @ w + b)))
    best = max(
        (2 * pr * rc / (pr + rc) if pr + rc else 0.0, th)
        for th in np.arange(0.2, 0.8, 0.05)
        for pr, rc in [precision_recall(p >= th, y.astype(bool))]
    )
    print(f"F1-best threshold on the tuning seeds: {best[1]:.2f} (F1 {best[0]:.3f}); AUC {auc(p, y.astype(bool)):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="three held-out seeds instead of ten")
    parser.add_argument("--tune", action="store_true", help="fit weights on the tuning seeds and stop")
    args = parser.parse_args()
    t = Thresholds()
    if args.tune:
        tune(TUNE_SEEDS, t)
        return
    seeds = HELD_OUT[:3] if args.quick else HELD_OUT
    started = time.perf_counter()
    m = evaluate(seeds, t)
    print(f"machine: {_common.machine()}")
    print(
        f"held-out seeds {seeds[0]}-{seeds[-1]}: {m['learners']} learners, {m['positives']:.0%} needed help; "
        f"observed at day {OBSERVE_DAY}; {time.perf_counter() - started:.1f} s"
    )
    print(
        f"score >= {t.risk_threshold}: flags {m['flagged']:.0%}; precision {m['precision']:.3f} "
        f"recall {m['recall']:.3f} AUC {m['auc']:.3f}"
    )
    print(
        f"baseline, idle >= {t.inactive_days} days: precision {m['baseline_precision']:.3f} "
        f"recall {m['baseline_recall']:.3f} AUC {m['baseline_auc']:.3f}"
    )
    print(
        f"baseline flagging as many (most idle first): precision {m['matched_precision']:.3f} "
        f"recall {m['matched_recall']:.3f}"
    )
    _common.result(
        "risk_auc_week4_vs_days_since_activity", m["auc"], "auc", m["baseline_auc"], m["auc"] / m["baseline_auc"]
    )
    _common.result(
        "risk_precision_week4_vs_days_since_activity",
        m["precision"],
        "share",
        m["baseline_precision"],
        m["precision"] / m["baseline_precision"],
    )
    _common.result(
        "risk_recall_week4_vs_days_since_activity",
        m["recall"],
        "share",
        m["baseline_recall"],
        m["recall"] / m["baseline_recall"],
    )
    _common.result(
        "risk_precision_week4_vs_days_since_activity_same_flag_rate",
        m["precision"],
        "share",
        m["matched_precision"],
        m["precision"] / m["matched_precision"],
    )
    _common.result(
        "risk_recall_week4_vs_days_since_activity_same_flag_rate",
        m["recall"],
        "share",
        m["matched_recall"],
        m["recall"] / m["matched_recall"],
    )
    _common.print_results()


if __name__ == "__main__":
    main()
