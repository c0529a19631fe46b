"""A simulated course cohort for evaluating the at-risk score (bench/risk.py). Independent of lms_tool.

This model was written and committed before the score's weights were tuned, and is not changed to suit
them: the evaluation reports what the score achieves on cohorts it did not see (held-out seeds).

Each learner has two latent traits, drawn once:

- engagement ``e`` ~ N(0, 1): how often they show up, whether they start each week's quiz, how soon they
  drop out;
- ability ``a`` ~ N(0, 1), correlated with engagement (rho = 0.3): how well they score and remember.

The course runs TERM_WEEKS weeks. One quiz opens at the start of each week and one flashcard deck is open
all term. Every week has a shared activity term ``c_w`` ~ N(0, 0.35) (a busy week elsewhere, a holiday),
and activity peaks on the two days before the week ends (the usual deadline rush).

Daily activity (a launch, a study session, an attempt): p = sigmoid(-0.4 + 1.1 e + c_w + rush). Each week a
learner still in the course drops out with hazard sigmoid(-4.6 - 1.1 e - 0.5 min(a, 0)); in the FADE_WEEKS
before dropping out their activity falls to a third and their scores by 0.15 (disengagement shows before
the learner is gone). After dropping out nothing more happens.

A weekly quiz is attempted, if the learner is active that week, with probability sigmoid(1.8 + 1.4 e + c_w),
on one of their active days of that week; its score is sigmoid(1.1 a + 1.0 - d_w + N(0, 0.6)) (d_w ~ N(0, 0.4)
the quiz's difficulty), lower by 0.15 for a learner fading out. One answer in five is held
for an instructor's review, released 0-9 days later.

Flashcard recall on the course's concepts, as FSRS would predict it, rises with ability and recent study:
sigmoid(0.9 a + 0.5 ln(1 + sessions in the last 14 days) - 0.2 + N(0, 0.4)); None before a first session.

Outcome ("needed help"): dropped out before the end of term, or finished with a course grade below
PASS_MARK, the grade being the mean of all quiz scores with a missed quiz counting 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

TERM_WEEKS = 12
FADE_WEEKS = 2
PASS_MARK = 0.4


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class SimLearner:
    """What the tool would have recorded about one learner, by day number (day 0: the course starts)."""

    engagement: float
    ability: float
    dropout_week: int | None
    active_days: list[int] = field(default_factory=list)
    # week -> (attempt day, score) of that week's quiz, for the quizzes attempted
    attempts: dict[int, tuple[int, float]] = field(default_factory=dict)
    # (day the answer was submitted, day it was released by the instructor)
    held: list[tuple[int, int]] = field(default_factory=list)
    study_days: list[int] = field(default_factory=list)
    recall_noise: float = 0.0
    needed_help: bool = False

    def recall_at(self, day: int) -> float | None:
        """Predicted recall on the course's concepts at ``day`` (None before the first study session)."""
        seen = [d for d in self.study_days if d < day]
        if not seen:
            return None
        recent = sum(1 for d in seen if d >= day - 14)
        return _sigmoid(0.9 * self.ability + 0.5 * math.log1p(recent) - 0.2 + self.recall_noise)


@dataclass
class Cohort:
    seed: int
    learners: list[SimLearner]
    quiz_open_days: list[int]  # the day each week's quiz opens


def cohort_generate(seed: int, size: int = 400) -> Cohort:
    rng = np.random.default_rng(seed)
    week_term = rng.normal(0.0, 0.35, TERM_WEEKS)
    difficulty = rng.normal(0.0, 0.4, TERM_WEEKS)
    quiz_open_days = [7 * w for w in range(TERM_WEEKS)]
    learners = []
    for _ in range(size):
        e = float(rng.normal())
        a = float(0.3 * e + math.sqrt(1 - 0.3**2) * rng.normal())
        dropout_week = None
        for week in range(TERM_WEEKS):
            if rng.random() < _sigmoid(-4.6 - 1.1 * e - 0.5 * min(a, 0.0)):
                dropout_week = week
                break
        learner = SimLearner(e, a, dropout_week, recall_noise=float(rng.normal(0.0, 0.4)))
        for week in range(TERM_WEEKS):
            if dropout_week is not None and week >= dropout_week:
                break
            fading = dropout_week is not None and week >= dropout_week - FADE_WEEKS
            days = []
            for weekday in range(7):
                rush = 0.6 if weekday >= 5 else 0.0
                p = _sigmoid(-0.4 + 1.1 * e + week_term[week] + rush) * (1 / 3 if fading else 1.0)
                if rng.random() < p:
                    days.append(7 * week + weekday)
            learner.active_days.extend(days)
            learner.study_days.extend(d for d in days if rng.random() < 0.7)
            if days and rng.random() < _sigmoid(1.8 + 1.4 * e + week_term[week]):
                day = int(rng.choice(days))
                score = _sigmoid(1.1 * a + 1.0 - difficulty[week] + rng.normal(0.0, 0.6)) - (0.15 if fading else 0.0)
                learner.attempts[week] = (day, float(min(max(score, 0.0), 1.0)))
                if rng.random() < 0.2:
                    learner.held.append((day, day + int(rng.integers(0, 10))))
        grade = sum(score for _, score in learner.attempts.values()) / TERM_WEEKS
        learner.needed_help = dropout_week is not None or grade < PASS_MARK
        learners.append(learner)
    return Cohort(seed, learners, quiz_open_days)
