"""Reads for "Learners who need help": every learner's facts in a course from a few grouped queries.

The queries are per course, never per learner (docs/analytics.md, "Learners who need help"): memberships,
the published activities, one row per attempt, the last review per learner and deck, held answers counted
per learner, and the course's card states in one read. ``risk_score`` turns the facts into a score.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext

from lms_tool.core.errors import ToolError
from lms_tool.flashcards import retention
from lms_tool.flashcards import selectors as flashcard_selectors
from lms_tool.flashcards.models import Card, Deck, ReviewLog
from lms_tool.lti import roles
from lms_tool.lti.models import Context, LtiUser, Membership
from lms_tool.lti.selectors import launch_scope
from lms_tool.lti.types import LtiLaunch
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz

from .risk_models import LearnerRisk, RiskSettings
from .risk_score import Activity, Assessment, LearnerFacts, Thresholds, assess

# The seam for due dates (the assessment work adds them to quizzes): when the Quiz model has this field and
# a quiz sets it, "not started" counts from it; until then, from the instructor's window after publishing.
QUIZ_DUE_FIELD = "due_at"
RECALL_DAYS = 7


def course_of(*, launch: LtiLaunch) -> Context:
    """The launch's course (its registration's, checked by the page decorator); 400 outside a course."""
    context = launch_scope(launch=launch).context
    if context is None:
        raise ToolError(gettext("This page is only available when the tool is opened from a course."), status=400)
    return context


def settings_of(*, context: Context) -> RiskSettings:
    """The course's thresholds (an unsaved row of defaults when the instructor has not changed them)."""
    return RiskSettings.objects.filter(context=context).first() or RiskSettings(context=context)


@dataclass(frozen=True)
class Learner:
    pk: int
    joined_at: datetime
    last_launch_at: datetime | None


def course_learners(*, context: Context) -> list[Learner]:
    """Active members of the course with a Learner role (staff and observers are not assessed)."""
    rows = Membership.objects.filter(context=context, is_active=True).values_list(
        "user_id", "roles", "created_at", "last_launch_at"
    )
    return [
        Learner(pk, created, launched) for pk, member_roles, created, launched in rows if roles.is_learner(member_roles)
    ]


def learner_in_course(*, context: Context, user_pk: int) -> LtiUser:
    """A learner of the course (its registration's); anyone else answers like a missing learner."""
    member = Membership.objects.filter(
        context=context, user_id=user_pk, user__registration_id=context.registration_id
    ).first()
    if member is None or not roles.is_learner(member.roles):
        raise ToolError(gettext("There is no such learner in this course."), status=404)
    return LtiUser.objects.get(pk=user_pk)


@dataclass(frozen=True)
class Published:
    kind: str  # "quiz" or "deck"
    pk: int
    title: str
    opened_at: datetime
    due_at: datetime | None


def published_activities(*, context: Context) -> list[Published]:
    quiz_fields = ["pk", "title", "published_at", "created_at"]
    has_due = any(f.name == QUIZ_DUE_FIELD for f in Quiz._meta.get_fields())
    if has_due:
        quiz_fields.append(QUIZ_DUE_FIELD)
    out = []
    for row in Quiz.objects.filter(context=context, status=Quiz.Status.PUBLISHED).values(*quiz_fields):
        due = row.get(QUIZ_DUE_FIELD) if has_due else None
        out.append(Published("quiz", row["pk"], row["title"], row["published_at"] or row["created_at"], due))
    for pk, title, published_at, created_at in (
        Deck.objects.published().filter(context=context).values_list("pk", "title", "published_at", "created_at")
    ):
        out.append(Published("deck", pk, title, published_at or created_at, None))
    return out


def due_for(activity: Published, *, joined_at: datetime, window_days: int) -> datetime:
    """When a learner should have started the activity: its due date, else the window after it opened for them."""
    if activity.due_at is not None:
        return activity.due_at
    return max(activity.opened_at, joined_at) + timedelta(days=window_days)


@dataclass
class CourseRecall:
    """Per learner: mean predicted recall over the concepts they studied, and their weakest concepts."""

    mean: dict[int, float] = field(default_factory=dict)
    weakest: dict[int, list[str]] = field(default_factory=dict)


def concepts_of(tags: Iterable[str] | None, front: str) -> list[str]:
    """A card's concepts: its tags; an untagged card stands for itself (as in the flashcards' retention page)."""
    named = [str(t).strip() for t in (tags or []) if str(t).strip()]
    return named or [front[:80]]


def course_recall(*, context: Context, now: datetime) -> CourseRecall:
    """With numpy over the course's card states: each (learner, concept) mean, then each learner's mean of
    those and their three weakest concepts (a card with two tags counts for both)."""
    arrays, r_now, _ = flashcard_selectors.course_predictions(context=context, now=now, days=0)
    result = CourseRecall()
    if not len(arrays):
        return result
    names: list[str] = []
    index: dict[str, int] = {}
    card_pks, concept_ids = [], []
    for pk, tags, front in Card.objects.filter(deck__context=context).values_list("pk", "tags", "front"):
        for concept in concepts_of(tags, front):
            card_pks.append(pk)
            concept_ids.append(index.setdefault(concept, len(index)))
            if len(names) < len(index):
                names.append(concept)
    # Each state once per concept of its card: a join of the states' cards with (card, concept) pairs.
    order = np.argsort(np.array(card_pks, dtype=np.int64), kind="stable")
    pair_cards = np.array(card_pks, dtype=np.int64)[order]
    pair_concepts = np.array(concept_ids, dtype=np.int64)[order]
    starts = np.searchsorted(pair_cards, arrays.card, side="left")
    ends = np.searchsorted(pair_cards, arrays.card, side="right")
    counts = ends - starts
    rows = np.repeat(np.arange(len(arrays)), counts)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    learners, concepts = arrays.learner[rows], pair_concepts[np.repeat(starts, counts) + offsets]
    if not len(rows):
        return result
    keys = learners * len(names) + concepts
    unique, means, _ = retention.group_mean(keys, r_now[rows])
    key_learners, key_concepts = unique // len(names), unique % len(names)
    per_learner, learner_means, _ = retention.group_mean(key_learners, means)
    ranked = np.lexsort((means, key_learners))  # by learner, then weakest concept first
    weakest: dict[int, list[str]] = defaultdict(list)
    for position in ranked.tolist():
        learner = int(key_learners[position])
        if len(weakest[learner]) < 3:
            weakest[learner].append(names[int(key_concepts[position])])
    result.mean = {int(k): float(v) for k, v in zip(per_learner, learner_means, strict=True)}
    result.weakest = dict(weakest)
    return result


def course_facts(*, context: Context, thresholds: Thresholds, now: datetime | None = None) -> dict[int, LearnerFacts]:
    """Every learner's facts in the course, from a fixed number of queries whatever the course's size."""
    now = now or timezone.now()
    learners = course_learners(context=context)
    activities = published_activities(context=context)

    # The course's rows whoever made them (no list of learner ids in the SQL, whatever the course's size); rows of
    # people who are not learners are simply not read back below.
    attempts = Attempt.objects.filter(quiz__context=context, is_preview=False)
    # Grouped in SQL: per learner and quiz, the last start (one row per pair, not per attempt).
    last_seen: dict[int, datetime] = {}
    started: set[tuple[str, int, int]] = set()
    for user, quiz, last in (
        attempts.values("user_id", "quiz_id").annotate(last=Max("started_at")).values_list("user_id", "quiz_id", "last")
    ):
        started.add(("quiz", quiz, user))
        last_seen[user] = max(last_seen.get(user, last), last)
    # The submitted scores in order, without their timestamps (reading 100,000 datetimes costs more than the query).
    scores: dict[int, list[float]] = defaultdict(list)
    for user, score, maximum in (
        attempts.filter(state=Attempt.State.SUBMITTED, score__isnull=False, score_maximum__gt=0)
        .order_by("submitted_at", "pk")
        .values_list("user_id", "score", "score_maximum")
    ):
        scores[user].append(float(score or 0) / float(maximum))
    reviewed = (
        ReviewLog.objects.filter(deck__context=context)
        .values("learner_id", "deck_id")
        .annotate(last=Max("reviewed_at"))
        .values_list("learner_id", "deck_id", "last")
    )
    for user, deck, last in reviewed:
        started.add(("deck", deck, user))
        last_seen[user] = max(last_seen.get(user, last), last)
    held = dict(
        Answer.objects.awaiting_review()
        .filter(attempt__quiz__context=context, attempt__is_preview=False)
        .values("attempt__user_id")
        .annotate(n=Count("pk"))
        .values_list("attempt__user_id", "n")
    )
    recall = course_recall(context=context, now=now)

    window = timedelta(days=thresholds.window_days)
    usual_due = [a.due_at or a.opened_at + window for a in activities]  # for a learner enrolled before it opened
    facts = {}
    for learner in learners:
        seen = [t for t in (last_seen.get(learner.pk), learner.last_launch_at) if t is not None]
        facts[learner.pk] = LearnerFacts(
            now=now,
            joined_at=learner.joined_at,
            last_activity_at=max(seen) if seen else None,
            activities=[
                Activity(
                    a.title,
                    due
                    if learner.joined_at <= a.opened_at
                    else due_for(a, joined_at=learner.joined_at, window_days=thresholds.window_days),
                    (a.kind, a.pk, learner.pk) in started,
                )
                for a, due in zip(activities, usual_due, strict=True)
            ],
            scores=scores.get(learner.pk, []),
            recall=recall.mean.get(learner.pk),
            weakest_concepts=recall.weakest.get(learner.pk, []),
            held=int(held.get(learner.pk, 0)),
        )
    return facts


@dataclass
class LearnerRow:
    pk: int
    name: str
    assessment: Assessment
    facts: LearnerFacts


@dataclass
class RiskList:
    thresholds: Thresholds
    at_risk: list[LearnerRow]
    learners: int
    activities: int
    checked_at: datetime | None


def course_risk(*, context: Context, now: datetime | None = None) -> tuple[Thresholds, dict[int, Assessment]]:
    thresholds = settings_of(context=context).thresholds()
    facts = course_facts(context=context, thresholds=thresholds, now=now)
    return thresholds, {pk: assess(f, thresholds) for pk, f in facts.items()}


def risk_list(*, context: Context, now: datetime | None = None) -> RiskList:
    """The course's learners at risk now, highest score first, with their names and reasons."""
    thresholds = settings_of(context=context).thresholds()
    facts = course_facts(context=context, thresholds=thresholds, now=now)
    assessed = {pk: assess(f, thresholds) for pk, f in facts.items()}
    listed = sorted((pk for pk, a in assessed.items() if a.at_risk), key=lambda pk: -assessed[pk].score)
    names = dict(LtiUser.objects.filter(pk__in=listed).values_list("pk", "name"))
    rows = [
        LearnerRow(pk, names.get(pk) or gettext("Learner %(number)d") % {"number": pk}, assessed[pk], facts[pk])
        for pk in listed
    ]
    checked = LearnerRisk.objects.filter(context=context).aggregate(last=Max("checked_at"))["last"]
    return RiskList(thresholds, rows, len(facts), len(published_activities(context=context)), checked)


# ---- the per-learner page: quiz results and flashcard retention, joined by concept ----


@dataclass
class QuizResult:
    title: str
    attempts: int
    best: float | None
    last: float | None
    held: int


@dataclass
class ConceptRow:
    concept: str
    questions: int = 0  # answers to questions about the concept
    quiz_share: float | None = None  # points earned / points possible on those answers
    cards: int = 0  # cards of the concept the learner has studied
    recall_now: float | None = None
    recall_later: float | None = None


@dataclass
class LearnerPage:
    learner: LtiUser
    assessment: Assessment
    facts: LearnerFacts
    quizzes: list[QuizResult]
    concepts: list[ConceptRow]
    days: int = RECALL_DAYS


def _mentions(concept: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(concept.lower()) + r"(?!\w)")


def learner_page(*, context: Context, learner: LtiUser, now: datetime | None = None) -> LearnerPage:
    now = now or timezone.now()
    thresholds = settings_of(context=context).thresholds()
    facts = course_facts(context=context, thresholds=thresholds, now=now).get(learner.pk)
    if facts is None:  # a learner whose enrolment ended: their history, assessed as of now
        facts = LearnerFacts(now=now, joined_at=now, last_activity_at=None)
    assessment = assess(facts, thresholds)

    quizzes = []
    held = dict(
        Answer.objects.awaiting_review()
        .filter(attempt__quiz__context=context, attempt__user=learner)
        .values("attempt__quiz_id")
        .annotate(n=Count("pk"))
        .values_list("attempt__quiz_id", "n")
    )
    by_quiz: dict[int, list[tuple[float | None]]] = defaultdict(list)  # each submitted attempt's fraction
    for quiz_id, score, maximum in (
        Attempt.objects.filter(quiz__context=context, user=learner, is_preview=False, state=Attempt.State.SUBMITTED)
        .order_by("submitted_at", "pk")
        .values_list("quiz_id", "score", "score_maximum")
    ):
        by_quiz[quiz_id].append((float(score) / float(maximum) if score is not None and maximum else None,))
    for quiz in Quiz.objects.filter(context=context, status=Quiz.Status.PUBLISHED).order_by("created_at", "pk"):
        fractions = [f for (f,) in by_quiz.get(quiz.pk, []) if f is not None]
        quizzes.append(
            QuizResult(
                quiz.title,
                len(by_quiz.get(quiz.pk, [])),
                max(fractions) if fractions else None,
                fractions[-1] if fractions else None,
                int(held.get(quiz.pk, 0)),
            )
        )

    # Concepts are the course's card tags; a question is about a concept when its prompt or source passage
    # names it (questions carry no tags of their own).
    cards = {
        pk: concepts_of(tags, front)
        for pk, tags, front in Card.objects.filter(deck__context=context).values_list("pk", "tags", "front")
    }
    concepts: dict[str, ConceptRow] = {}
    for names in cards.values():
        for name in names:
            concepts.setdefault(name, ConceptRow(name))
    arrays, r_now, r_later = flashcard_selectors.course_predictions(
        context=context, now=now, days=RECALL_DAYS, learner=learner
    )
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for card, rn, rl in zip(arrays.card.tolist(), r_now.tolist(), r_later.tolist(), strict=True):
        for name in cards.get(card, ()):
            acc = sums[name]
            acc[0] += rn
            acc[1] += rl
            acc[2] += 1
    for name, (total_now, total_later, count) in sums.items():
        row = concepts[name]
        row.cards, row.recall_now, row.recall_later = int(count), total_now / count, total_later / count
    patterns = {name: _mentions(name) for name in concepts if len(name) <= 80}
    points: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    answers = Answer.objects.filter(
        attempt__quiz__context=context,
        attempt__user=learner,
        attempt__is_preview=False,
        attempt__state=Attempt.State.SUBMITTED,
        score__isnull=False,
    ).values_list("question_id", "score", "max_score")
    answered = list(answers)
    texts = {
        pk: f"{prompt}\n{passage}".lower()
        for pk, prompt, passage in Question.objects.filter(pk__in={a[0] for a in answered}).values_list(
            "pk", "prompt", "source_passage"
        )
    }
    for question_id, score, maximum in answered:
        text = texts.get(question_id, "")
        for name, pattern in patterns.items():
            if pattern.search(text):
                acc = points[name]
                acc[0] += float(score or 0)
                acc[1] += float(maximum)
                acc[2] += 1
    for name, (earned, possible, count) in points.items():
        row = concepts[name]
        row.questions, row.quiz_share = int(count), (earned / possible if possible else None)
    rows = [r for r in concepts.values() if r.cards or r.questions]
    rows.sort(key=lambda r: (min(x for x in (r.recall_now, r.quiz_share, 2.0) if x is not None), r.concept))
    return LearnerPage(learner, assessment, facts, quizzes, rows)


def learners_recorded(*, context: Context) -> dict[int, LearnerRisk]:
    return {row.user_id: row for row in LearnerRisk.objects.filter(context=context)}
