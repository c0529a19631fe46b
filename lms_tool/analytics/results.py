"""A quiz's results per learner: best and last score, attempts, time taken, where the gradebook score stands.

One query whatever the number of learners (``quiz_results``). Names are encrypted at rest
(lms_tool/core/fields.py), so the name search runs on the decrypted rows, not in SQL.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F, FloatField, Max, OuterRef, QuerySet, Subquery, Window
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, NullIf, RowNumber
from django.utils.translation import gettext_lazy

from lms_tool.grading.models import PassbackState, Score
from lms_tool.lti.models import LtiUser
from lms_tool.quizzes.models import Attempt, Quiz


class State:
    """Where a learner's gradebook score stands (their last submitted attempt's)."""

    HELD = "held"  # waiting for a person: an AI grade below the confidence threshold
    POSTED = "posted"
    WAITING = "waiting"  # in the outbox, not posted yet (retrying)
    DEAD = "dead"  # the platform refused it or retries ran out: an admin can replay it
    NOT_SENT = "not_sent"  # no gradebook column (opened outside a graded link)

    LABELS = {
        HELD: gettext_lazy("Held for review"),
        POSTED: gettext_lazy("Posted"),
        WAITING: gettext_lazy("Waiting to be posted"),
        DEAD: gettext_lazy("Refused by the gradebook"),
        NOT_SENT: gettext_lazy("Not sent to a gradebook"),
    }


@dataclass
class LearnerRow:
    user_id: int
    name: str
    attempts: int
    best: float | None  # fraction of the maximum
    last: float | None
    last_points: float | None
    maximum: float
    seconds: int | None  # time taken by the last attempt
    state: str

    @property
    def state_label(self) -> str:
        return str(State.LABELS[self.state])

    @property
    def best_percent(self) -> float | None:
        return None if self.best is None else round(100 * self.best, 1)

    @property
    def last_percent(self) -> float | None:
        return None if self.last is None else round(100 * self.last, 1)

    @property
    def time_taken(self) -> str:
        if self.seconds is None:
            return ""
        minutes, seconds = divmod(self.seconds, 60)
        return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@dataclass(frozen=True)
class Filters:
    state: str = ""
    low: float | None = None  # percent, inclusive
    high: float | None = None
    name: str = ""

    def keep(self, row: LearnerRow) -> bool:
        if self.state and row.state != self.state:
            return False
        best = row.best_percent
        if self.low is not None and (best is None or best < self.low):
            return False
        if self.high is not None and (best is None or best > self.high):
            return False
        return not self.name or self.name.casefold() in row.name.casefold()


def _submitted(quiz: Quiz) -> QuerySet[Attempt]:
    return Attempt.objects.filter(quiz=quiz, state=Attempt.State.SUBMITTED, is_preview=False)


def _ratio() -> CombinedExpression:
    # score / score_maximum per attempt, in SQL; a quiz with no points has no ratio (NULLIF avoids / 0).
    return Cast(F("score"), FloatField()) / NullIf(F("score_maximum"), 0.0)


def _state(score_state: str | None, needs_review: bool) -> str:
    if score_state is None:
        return State.HELD if needs_review else State.NOT_SENT
    if score_state == PassbackState.POSTED:
        return State.HELD if needs_review else State.POSTED
    if score_state == PassbackState.HELD or needs_review:
        return State.HELD
    if score_state in (PassbackState.DEAD, PassbackState.FAILED):
        return State.DEAD
    return State.WAITING


def quiz_results(*, quiz: Quiz, with_names: bool = True) -> list[LearnerRow]:
    """One row per learner who submitted an attempt, lowest best score first (who may need help), in ONE query
    over the quiz's submitted attempts.

    Window functions give each attempt its learner's count and best ratio and its rank by submission; the last
    attempt (rank 1) of each learner comes back with its outbox score's state (a primary-key subquery) and,
    ``with_names``, the learner's name. Names are encrypted at rest and decrypting costs about as much as the
    query for 2,000 learners: a page that shows 50 rows asks without names and fills in its own
    (``names_fill``)."""
    by_learner = [F("user_id")]
    rows = (
        _submitted(quiz)
        .annotate(
            n=Window(Count("id"), partition_by=by_learner),
            best=Window(Max(_ratio()), partition_by=by_learner),
            rank=Window(RowNumber(), partition_by=by_learner, order_by=[F("submitted_at").desc(), F("pk").desc()]),
            score_state=Subquery(Score.objects.filter(pk=OuterRef("score_ref")).values("passback_state")[:1]),
        )
        .filter(rank=1)
        .values(
            "user_id",
            *(["user__name"] if with_names else []),
            "n",
            "best",
            "score",
            "score_maximum",
            "started_at",
            "submitted_at",
            "needs_review",
            "score_state",
        )
    )
    out = []
    for row in rows:
        maximum = float(row["score_maximum"] or 0.0)
        taken = None
        if row["submitted_at"] and row["started_at"]:
            taken = max(0, int((row["submitted_at"] - row["started_at"]) / timedelta(seconds=1)))
        out.append(
            LearnerRow(
                user_id=row["user_id"],
                name=(row["user__name"] or NO_NAME) if with_names else "",
                attempts=row["n"],
                best=row["best"],
                last=(row["score"] / maximum) if maximum and row["score"] is not None else None,
                last_points=row["score"],
                maximum=maximum,
                seconds=taken,
                state=_state(row["score_state"], bool(row["needs_review"])),
            )
        )
    out.sort(key=lambda r: (-1.0 if r.best is None else r.best, r.user_id))
    return out


NO_NAME = "(no name given)"


def names_fill(rows: list[LearnerRow]) -> None:
    """Decrypt the names of ``rows`` only (one query)."""
    names = dict(LtiUser.objects.filter(pk__in=[r.user_id for r in rows]).values_list("pk", "name"))
    for row in rows:
        row.name = names.get(row.user_id) or NO_NAME


@dataclass(frozen=True)
class Bin:
    low: int  # percent
    high: int
    count: int
    x: float  # SVG geometry (the template draws, this computes)
    y: float
    width: float
    height: float

    @property
    def label(self) -> str:
        return f"{self.low}\u2013{self.high}%"


CHART_WIDTH, CHART_HEIGHT, BINS = 300.0, 120.0, 10


def score_distribution(rows: list[LearnerRow]) -> list[Bin]:
    """Best scores in ten bins of 10 points (100% falls in the last); the bar heights scaled to the tallest."""
    counts = [0] * BINS
    for row in rows:
        if row.best is not None:
            counts[min(BINS - 1, max(0, math.floor(row.best * BINS + 1e-9)))] += 1
    tallest = max(counts) or 1
    width = CHART_WIDTH / BINS
    bins = []
    for index, count in enumerate(counts):
        height = CHART_HEIGHT * count / tallest
        bins.append(
            Bin(
                low=index * 10,
                high=index * 10 + 10,
                count=count,
                x=round(index * width + 2, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(width - 4, 2),
                height=round(height, 2),
            )
        )
    return bins


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def results_csv(rows: list[LearnerRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Learner", "Attempts", "Best %", "Last %", "Last points", "Maximum", "Time taken (s)", "State"])
    for row in rows:
        writer.writerow(
            [
                csv_cell(row.name),
                row.attempts,
                "" if row.best_percent is None else row.best_percent,
                "" if row.last_percent is None else row.last_percent,
                "" if row.last_points is None else row.last_points,
                row.maximum,
                "" if row.seconds is None else row.seconds,
                csv_cell(row.state_label),
            ]
        )
    return out.getvalue()
