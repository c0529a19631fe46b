"""Item analysis of one quiz: per question revision, the standard statistics and the flags a teacher can act on.

A question's revision is its own row (``Question``; an edit after answers makes a new one and the attempts keep
theirs), so grouping by question row is grouping by question and version. Only submitted attempts that are not
staff previews count; each question counts over the attempts that saw it (every question of an attempt has an
``Answer`` row once it is graded: unanswered ones score 0). Five queries whatever the number of attempts, one
of them over the quiz's answers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, FloatField, JSONField, Max, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from lms_tool.core.models import AuditEvent
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz

from .stats import Moments, discrimination, efficiency, facility, upper_threshold

# Flags (docs/analytics.md, "Flags"): thresholds on fractions, Moodle's guidance for its percentages.
TOO_EASY = 0.9
TOO_HARD = 0.2
WEAK_DISCRIMINATION = 0.2
MIN_ATTEMPTS = 10  # below this a correlation says little: discrimination and distractor flags wait
OVERRIDE_RATE = 0.3  # AI grades changed by the reviewer at least this often...
MIN_REVIEWED = 3  # ...over at least this many reviewed answers
CHOICE_TYPES = (Question.Type.SINGLE, Question.Type.MULTIPLE, Question.Type.TRUE_FALSE)


@dataclass
class Flag:
    code: str  # too_easy, too_hard, negative_discrimination, weak_discrimination, unused_distractor,
    # distractor_beats_key, ai_overridden
    text: str  # in words, for the teacher
    fix: str  # "edit" (the key or the wording), "regenerate", or "review" (the grading)


@dataclass
class OptionRow:
    index: int
    text: str
    is_key: bool
    count: int
    upper_count: int
    share: float | None


@dataclass
class ItemRow:
    question: Question
    number: int  # its place in the quiz (1-based), by position
    attempts: int
    mean: float | None
    maximum: float
    facility: float | None
    discrimination: float | None
    efficiency: float | None
    options: list[OptionRow] = field(default_factory=list)
    reviewed: int = 0
    overridden: int = 0
    flags: list[Flag] = field(default_factory=list)
    successor: Question | None = None  # the current revision that replaced it, if any
    regraded: bool = False

    @property
    def is_current(self) -> bool:
        return bool(self.question.is_current)


@dataclass
class ItemAnalysis:
    quiz: Quiz
    attempts: int
    upper_threshold: float | None
    items: list[ItemRow]

    @property
    def flagged(self) -> list[ItemRow]:
        return [item for item in self.items if item.flags]


def _answers(quiz: Quiz, question_ids: list[int]) -> QuerySet[Answer]:
    # By the quiz's question ids: the database reads the answers through their question index (a few
    # thousand rows) instead of joining every answer of the course to find the quiz's (bench/analytics.py).
    return Answer.objects.filter(
        question_id__in=question_ids,
        attempt__quiz=quiz,
        attempt__state=Attempt.State.SUBMITTED,
        attempt__is_preview=False,
    )


_X = Coalesce(F("score"), Value(0.0), output_field=FloatField())
_REST = Coalesce(F("attempt__score"), Value(0.0), output_field=FloatField()) - _X


@dataclass
class _Sums:
    """What one grouped query gives per question row."""

    moments: dict[int, tuple[Moments, float]]
    xs: dict[int, list[tuple[float, int]]]
    rs: dict[int, list[tuple[float, int]]]
    # per choice question: {(option picks as a tuple, attempt total): count}
    picks: dict[int, dict[tuple[tuple[int, ...], float], int]]


def item_sums(quiz: Quiz, question_ids: list[int]) -> _Sums:
    """Per question row: its moments and maximum, the histograms of x and of R, and the choices made, from ONE
    grouped query over the quiz's answers.

    The database groups the answers by (question, x, R, response of a choice question): a handful of rows per
    question (x and R take few distinct values, a choice question has few distinct responses; free text is
    left out of the key), from which every sum, both histograms and the per-option counts follow exactly."""
    picked = Case(
        When(question__type__in=CHOICE_TYPES, then=F("response")), default=Value(None), output_field=JSONField()
    )
    rows = (
        _answers(quiz, question_ids)
        .annotate(x=_X, rest=_REST, picked=picked)
        .values("question_id", "x", "rest", "picked")
        .annotate(c=Count("id"), top=Max("max_score"))
        .order_by()
    )
    sums: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    xs: dict[int, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    rs: dict[int, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    picks: dict[int, dict[tuple[tuple[int, ...], float], int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        qid, x, r, c = row["question_id"], float(row["x"]), float(row["rest"]), row["c"]
        acc = sums[qid]
        acc[0] += c
        acc[1] += c * x
        acc[2] += c * x * x
        acc[3] += c * r
        acc[4] += c * r * r
        acc[5] += c * x * r
        acc[6] = max(acc[6], float(row["top"] or 0.0))
        xs[qid][x] += c
        rs[qid][r] += c
        response = row["picked"]
        if isinstance(response, list):
            picks[qid][(tuple(i for i in response if isinstance(i, int)), x + r)] += c
    return _Sums(
        moments={qid: (Moments(int(a[0]), a[1], a[2], a[3], a[4], a[5]), a[6]) for qid, a in sums.items()},
        xs={qid: sorted(h.items()) for qid, h in xs.items()},
        rs={qid: sorted(h.items()) for qid, h in rs.items()},
        picks=picks,
    )


def attempt_score_counts(quiz: Quiz) -> list[tuple[float, int]]:
    rows = (
        Attempt.objects.filter(quiz=quiz, state=Attempt.State.SUBMITTED, is_preview=False)
        .values("score")
        .annotate(c=Count("id"))
        .order_by()
    )
    return [(float(row["score"] or 0.0), row["c"]) for row in rows]


def _option_counts(
    picks: dict[tuple[tuple[int, ...], float], int], threshold: float | None
) -> tuple[dict[int, int], dict[int, int]]:
    """Picks of each option, overall and in the upper group (attempts whose total reaches ``threshold``)."""
    counts: dict[int, int] = defaultdict(int)
    tops: dict[int, int] = defaultdict(int)
    for (chosen, total), c in picks.items():
        for index in chosen:
            counts[index] += c
            if threshold is not None and total >= threshold - 1e-9:
                tops[index] += c
    return counts, tops


def _overrides(quiz: Quiz, question_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per free-text question: (reviewed, changed by the reviewer). The AI's own score survives only in the
    review's audit line (``quiz.answer.review``: before/after), so that is where the comparison reads it."""
    reviewed = list(
        _answers(quiz, question_ids)
        .filter(question__type=Question.Type.FREE_TEXT, reviewed_at__isnull=False, graded_by=Answer.GradedBy.AI)
        .values_list("pk", "question_id")
    )
    if not reviewed:
        return {}
    changed = set()
    for object_id, before, after in AuditEvent.objects.filter(
        action="quiz.answer.review", object_type="quiz_answer", object_id__in=[str(pk) for pk, _count in reviewed]
    ).values_list("object_id", "before", "after"):
        old, new = (before or {}).get("score"), (after or {}).get("score")
        if old is None or new is None or abs(float(old) - float(new)) > 1e-9:
            changed.add(int(object_id))
    out: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for pk, question_id in reviewed:
        seen, moved = out[question_id]
        out[question_id] = (seen + 1, moved + (pk in changed))
    return out


def _regraded(quiz: Quiz, question_ids: list[int]) -> set[int]:
    return {
        int(pk)
        for pk in AuditEvent.objects.filter(
            action="quiz.question.regrade", object_type="quiz_question", object_id__in=[str(q) for q in question_ids]
        ).values_list("object_id", flat=True)
    }


def _options(question: Question, counts: dict[int, int], tops: dict[int, int], n: int) -> list[OptionRow]:
    options = question.options or (["True", "False"] if question.type == Question.Type.TRUE_FALSE else [])
    return [
        OptionRow(
            index=index,
            text=str(text),
            is_key=index in (question.correct or []),
            count=counts.get(index, 0),
            upper_count=tops.get(index, 0),
            share=counts.get(index, 0) / n if n else None,
        )
        for index, text in enumerate(options)
    ]


def item_flags(row: ItemRow) -> list[Flag]:
    """What a teacher can act on, most telling first (docs/analytics.md, "Flags")."""
    flags: list[Flag] = []
    enough = row.attempts >= MIN_ATTEMPTS
    keys = [option for option in row.options if option.is_key]
    if enough and keys:
        weakest_key = min(option.upper_count for option in keys)
        for option in row.options:
            if not option.is_key and option.upper_count > weakest_key:
                flags.append(
                    Flag(
                        "distractor_beats_key",
                        _(
                            "The strongest learners picked “%(option)s” more often than the answer keyed correct: check the key."
                        )
                        % {"option": option.text},
                        "edit",
                    )
                )
    if row.discrimination is not None and enough:
        if row.discrimination < 0:
            flags.append(
                Flag(
                    "negative_discrimination",
                    _(
                        "Learners who did well on the rest of the quiz did worse on this question: the key or the "
                        "wording may be wrong."
                    ),
                    "edit",
                )
            )
        elif row.discrimination < WEAK_DISCRIMINATION:
            flags.append(
                Flag(
                    "weak_discrimination",
                    _("This question barely separates learners who know the material from those who do not."),
                    "regenerate",
                )
            )
    if row.facility is not None and row.attempts:
        if row.facility > TOO_EASY:
            flags.append(Flag("too_easy", _("Almost everyone gets this right: it tells you little."), "regenerate"))
        elif row.facility < TOO_HARD:
            flags.append(
                Flag("too_hard", _("Few learners get this right: check the key, the wording, or the teaching."), "edit")
            )
    # A true/false "distractor" nobody picks is the same news as "too easy": said once.
    if enough and row.question.type != Question.Type.TRUE_FALSE:
        for option in row.options:
            if not option.is_key and option.count == 0:
                flags.append(
                    Flag(
                        "unused_distractor",
                        _("Nobody picked “%(option)s”: it distracts no one.") % {"option": option.text},
                        "edit",
                    )
                )
    if row.reviewed >= MIN_REVIEWED and row.overridden / row.reviewed >= OVERRIDE_RATE:
        flags.append(
            Flag(
                "ai_overridden",
                _(
                    "You changed the AI's grade on %(changed)d of %(reviewed)d reviewed answers: the reference "
                    "answer may need rewriting."
                )
                % {"changed": row.overridden, "reviewed": row.reviewed},
                "edit",
            )
        )
    return flags


def _successors(questions: list[Question]) -> dict[int, Question]:
    """Each superseded revision's current replacement (following the chain of edits)."""
    by_supersedes = {q.supersedes_id: q for q in questions if q.supersedes_id}
    out: dict[int, Question] = {}
    for question in questions:
        if question.is_current:
            continue
        nxt = by_supersedes.get(question.pk)
        while nxt is not None and not nxt.is_current:
            nxt = by_supersedes.get(nxt.pk)
        if nxt is not None:
            out[question.pk] = nxt
    return out


def quiz_item_analysis(*, quiz: Quiz) -> ItemAnalysis:
    """Every question revision that attempts saw (and the current ones not yet answered)."""
    questions = list(Question.objects.filter(quiz=quiz).order_by("position", "revision", "pk"))
    ids = [q.pk for q in questions]
    sums = item_sums(quiz, ids)
    moments, xs, rs = sums.moments, sums.xs, sums.rs
    score_counts = attempt_score_counts(quiz)
    threshold = upper_threshold(score_counts)
    overrides = _overrides(quiz, ids)
    successors = _successors(questions)
    regraded = _regraded(quiz, [q.pk for q in questions if not q.is_current])
    numbers: dict[int, int] = {}
    for question in questions:
        numbers.setdefault(question.position, len(numbers) + 1)
    items = []
    for question in questions:
        if question.pk not in moments and not question.is_current:
            continue
        stats, maximum = moments.get(question.pk, (Moments(0, 0, 0, 0, 0, 0), question.points))
        maximum = maximum or question.points
        counts, tops = _option_counts(sums.picks.get(question.pk, {}), threshold)
        reviewed, overridden = overrides.get(question.pk, (0, 0))
        row = ItemRow(
            question=question,
            number=numbers[question.position],
            attempts=stats.n,
            mean=stats.mean_x if stats.n else None,
            maximum=maximum,
            facility=facility(stats, maximum),
            discrimination=discrimination(stats),
            efficiency=efficiency(stats, xs.get(question.pk, []), rs.get(question.pk, [])),
            options=_options(question, counts, tops, stats.n) if question.is_choice else [],
            reviewed=reviewed,
            overridden=overridden,
            successor=successors.get(question.pk),
            regraded=question.pk in regraded,
        )
        row.flags = item_flags(row)
        items.append(row)
    return ItemAnalysis(quiz=quiz, attempts=sum(c for _, c in score_counts), upper_threshold=threshold, items=items)


def item_as_dict(row: ItemRow) -> dict[str, Any]:
    """The figures of one row, rounded as the page shows them (tests and docs compare against these)."""
    return {
        "attempts": row.attempts,
        "facility": None if row.facility is None else round(row.facility, 4),
        "discrimination": None if row.discrimination is None else round(row.discrimination, 4),
        "efficiency": None if row.efficiency is None else round(row.efficiency, 4),
        "flags": [flag.code for flag in row.flags],
    }
