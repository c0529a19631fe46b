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
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


DB_NAME = "lms_risk_bench"


def course_generate(learners: int, quizzes: int, cards: int) -> Any:
    """One course: ``learners`` learners, ``quizzes`` published quizzes each attempted by about half of them, one
    in ten attempts with an answer held for review, a deck of ``cards`` cards of which each learner studied a
    quarter (one state and one review each). Bulk inserts; names are left blank (encrypted columns)."""
    import random

    from django.utils import timezone

    from lms_tool.flashcards.models import Card, CardState, Deck, ReviewLog
    from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, Registration
    from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz

    rng = random.Random(7)
    now = timezone.now()
    registration = Registration.objects.create(
        issuer="https://bench.example.edu",
        client_id="bench",
        auth_login_url="https://bench.example.edu/a",
        auth_token_url="https://bench.example.edu/t",
        key_set_url="https://bench.example.edu/k",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="d")
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="c", title="Bench")
    users = LtiUser.objects.bulk_create(LtiUser(registration=registration, sub=f"u{i}") for i in range(learners))
    role = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    Membership.objects.bulk_create(
        Membership(context=context, user=u, roles=role, last_launch_at=now - timedelta(days=rng.randint(0, 30)))
        for u in users
    )
    Membership.objects.filter(context=context).update(created_at=now - timedelta(days=90))  # enrolled all term
    quiz_rows = []
    for q in range(quizzes):
        quiz_rows.append(
            Quiz(context=context, title=f"Quiz {q}", status="published", published_at=now - timedelta(days=3 * q))
        )
    quiz_rows = Quiz.objects.bulk_create(quiz_rows)
    questions = Question.objects.bulk_create(
        Question(quiz=q, type="short", prompt=f"About concept-{i % 40}?", status="approved")
        for i, q in enumerate(quiz_rows)
    )
    attempts = []
    for q in quiz_rows:
        for u in users:
            if rng.random() < 0.5:
                at = now - timedelta(days=rng.uniform(0, 60))
                attempts.append(
                    Attempt(
                        quiz=q,
                        user=u,
                        number=1,
                        quiz_version=1,
                        state="submitted",
                        started_at=at,
                        submitted_at=at,
                        score=rng.randint(0, 4),
                        score_maximum=4,
                    )
                )
    attempts = Attempt.objects.bulk_create(attempts, batch_size=5000)
    by_quiz = {q.quiz_id: q for q in questions}
    Answer.objects.bulk_create(
        (
            Answer(attempt=a, question=by_quiz[a.quiz_id], response="x", score=0.5, max_score=1, needs_review=True)
            for a in attempts
            if rng.random() < 0.1
        ),
        batch_size=5000,
    )
    deck = Deck.objects.create(context=context, title="Deck", status="published", published_at=now - timedelta(days=60))
    card_rows = Card.objects.bulk_create(
        Card(deck=deck, front=f"Card {i}", tags=[f"concept-{i % 40}"], status="approved", position=i)
        for i in range(cards)
    )
    states, logs = [], []
    for u in users:
        for card in rng.sample(card_rows, cards // 4):
            at = now - timedelta(days=rng.uniform(0, 40))
            stability = rng.uniform(1, 60)
            states.append(
                CardState(
                    learner=u,
                    card=card,
                    deck=deck,
                    state=2,
                    stability=stability,
                    difficulty=5.0,
                    due=at + timedelta(days=stability),
                    last_review=at,
                    reps=1,
                    created_at=at,
                )
            )
            logs.append(
                ReviewLog(
                    learner=u,
                    card=card,
                    deck=deck,
                    rating=3,
                    reviewed_at=at,
                    state_after=2,
                    stability_after=stability,
                    difficulty_after=5.0,
                    due_after=at + timedelta(days=stability),
                )
            )
    CardState.objects.bulk_create(states, batch_size=5000)
    ReviewLog.objects.bulk_create(logs, batch_size=5000)
    return context, len(attempts), len(states)


def facts_per_learner(context: Any, thresholds: Thresholds) -> dict[int, LearnerFacts]:
    """The baseline: the same facts, read learner by learner with plain ORM queries (what a first version does)."""
    from django.db.models import Max
    from django.utils import timezone

    from lms_tool.analytics import risk_selectors
    from lms_tool.flashcards import selectors as flashcard_selectors
    from lms_tool.flashcards.models import Card, ReviewLog
    from lms_tool.lti.models import LtiUser
    from lms_tool.quizzes.models import Answer, Attempt

    now = timezone.now()
    published = risk_selectors.published_activities(context=context)
    tags = {
        pk: risk_selectors.concepts_of(t, f)
        for pk, t, f in Card.objects.filter(deck__context=context).values_list("pk", "tags", "front")
    }
    out = {}
    for learner in risk_selectors.course_learners(context=context):
        user = LtiUser.objects.get(pk=learner.pk)
        attempts = list(
            Attempt.objects.filter(quiz__context=context, user=user, is_preview=False).order_by("submitted_at")
        )
        decks = dict(
            ReviewLog.objects.filter(deck__context=context, learner=user)
            .values("deck_id")
            .annotate(last=Max("reviewed_at"))
            .values_list("deck_id", "last")
        )
        held = Answer.objects.awaiting_review().filter(attempt__quiz__context=context, attempt__user=user).count()
        arrays, r_now, _ = flashcard_selectors.course_predictions(context=context, now=now, days=0, learner=user)
        per: dict[str, list[float]] = {}
        for card, r in zip(arrays.card.tolist(), r_now.tolist(), strict=True):
            for concept in tags.get(card, ()):
                per.setdefault(concept, []).append(r)
        means = [sum(v) / len(v) for v in per.values()]
        started = {("quiz", a.quiz_id) for a in attempts} | {("deck", d) for d in decks}
        seen = [a.started_at for a in attempts] + list(decks.values()) + [t for t in (learner.last_launch_at,) if t]
        out[learner.pk] = LearnerFacts(
            now=now,
            joined_at=learner.joined_at,
            last_activity_at=max(seen) if seen else None,
            activities=[
                Activity(
                    a.title,
                    risk_selectors.due_for(a, joined_at=learner.joined_at, window_days=thresholds.window_days),
                    (a.kind, a.pk) in started,
                )
                for a in published
            ],
            scores=[a.score / a.score_maximum for a in attempts if a.score is not None and a.score_maximum],
            recall=sum(means) / len(means) if means else None,
            held=held,
        )
    return out


def timed_course(quick: bool, postgres: bool) -> None:
    """The product's per-course read against the per-learner baseline, on the embedded SQLite default or on
    PostgreSQL (DATABASE_URL: a database of the bench's own, dropped at the end)."""
    learners = int(os.environ.get("BENCH_RISK_LEARNERS", "300" if quick else "2000"))
    from lms_tool.analytics import risk_selectors

    started = time.perf_counter()
    context, attempts, states = course_generate(learners, 20, 100)
    print(
        f"course: {learners} learners, 20 quizzes, {attempts} attempts, {states} card states "
        f"({'PostgreSQL' if postgres else 'SQLite'}; generated in {time.perf_counter() - started:.1f} s)"
    )
    t = Thresholds()
    ours = []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter_ns()
        listed = risk_selectors.risk_list(context=context)
        ours.append(time.perf_counter_ns() - t0)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("risk_selectors.risk_list(context=context)", globals(), locals(), sort="cumtime")
    t0 = time.perf_counter_ns()
    baseline_facts = facts_per_learner(context, t)
    baseline_at_risk = sum(assess(f, t).at_risk for f in baseline_facts.values())
    baseline = time.perf_counter_ns() - t0
    assert baseline_at_risk == len(listed.at_risk), (baseline_at_risk, len(listed.at_risk))
    median = sorted(ours)[len(ours) // 2] / 1e6
    print(
        f"at-risk list: {len(listed.at_risk)} of {listed.learners} listed; median {median:.0f} ms, "
        f"per-learner baseline {baseline / 1e6:.0f} ms (same learners listed)"
    )
    _common.result(
        "risk_list_course_ms_vs_per_learner_facts",
        median,
        "ms",
        baseline / 1e6,
        _common.ratio(baseline / 1e6, median),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="three held-out seeds instead of ten")
    parser.add_argument("--tune", action="store_true", help="fit weights on the tuning seeds and stop")
    parser.add_argument("--no-db", action="store_true", help="skip timing the per-course read on a database")
    args = parser.parse_args()
    t = Thresholds()
    if args.tune:
        tune(TUNE_SEEDS, t)
        return
    # Django is set up first (a database of the bench's own on PostgreSQL): the reasons the score gives are
    # translated strings, which need settings even where nothing is read from the database.
    with _common.own_database(DB_NAME) as postgres:
        var_dir = _common.setup_django(prefix="lms-bench-risk-")
        try:
            _evaluated(args, t, postgres)
        finally:
            _common.cleanup(var_dir)
    _common.print_results()


def _evaluated(args: argparse.Namespace, t: Thresholds, postgres: bool) -> None:
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
    if not args.no_db:
        timed_course(args.quick, postgres)


if __name__ == "__main__":
    main()
