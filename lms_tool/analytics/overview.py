"""The staff course home's figures: every quiz and deck of the course with its state and numbers, and what
needs attention first. A fixed number of grouped queries (about ten) whatever the size of the course.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Q
from django.db.models.functions import Cast, NullIf
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lms_tool.flashcards.models import Card, Deck, DeckGrade, ReviewLog
from lms_tool.grading.models import PassbackState, Score
from lms_tool.lti.decorators import page_url
from lms_tool.lti.models import ResourceLink
from lms_tool.lti.types import LtiLaunch
from lms_tool.quizzes.models import Answer, Attempt, GenerationRun, Question, Quiz
from lms_tool.roster.models import RosterSync, SyncStatus

WAITING_STATES = (PassbackState.PENDING, PassbackState.HELD)
DEAD_STATES = (PassbackState.DEAD, PassbackState.FAILED)


@dataclass
class ActivityRow:
    kind: str  # "quiz" or "deck"
    pk: int
    title: str
    state: str  # "draft", "published", "in_course"
    manage_url: str
    size: str  # "6 questions", "12 cards"
    attempts: int = 0  # quiz: submitted attempts; deck: reviews
    learners: int = 0
    average: float | None = None  # quiz: mean score (fraction); deck: mean progress
    pending_reviews: int = 0
    to_approve: int = 0  # generated questions or proposed cards nobody has approved yet
    scores_waiting: int = 0
    scores_dead: int = 0
    results_url: str = ""
    items_url: str = ""

    @property
    def state_label(self) -> str:
        labels = {
            "draft": _("Draft"),
            "published": _("Published, not in the course yet"),
            "in_course": _("In the course"),
        }
        return labels[self.state]

    @property
    def average_percent(self) -> float | None:
        return None if self.average is None else round(100 * self.average, 1)


@dataclass
class Attention:
    level: int  # 0 first: something is broken; 1 someone waits for you; 2 worth doing
    text: str
    url: str
    action: str


@dataclass
class Overview:
    rows: list[ActivityRow]
    roster_state: str
    roster_label: str
    roster_when: datetime | None
    roster_error: str
    attention: list[Attention] = field(default_factory=list)


def _placed(context_pk: int) -> set[str]:
    """Activities the course has links to ("quiz:12"), from the links' custom parameter and line items."""
    placed = set()
    for custom, resource_id in ResourceLink.objects.filter(context_id=context_pk).values_list(
        "custom", "line_item__resource_id"
    ):
        if isinstance(custom, dict) and custom.get("activity"):
            placed.add(str(custom["activity"]))
        if resource_id:
            placed.add(resource_id)
    return placed


def _scores(context_pk: int) -> dict[str, dict[str, int]]:
    """Scores of the course still on their way ("waiting") or dead-lettered, per activity ("quiz:12")."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"waiting": 0, "dead": 0})
    rows = (
        Score.objects.filter(resource_link__context_id=context_pk, passback_state__in=[*WAITING_STATES, *DEAD_STATES])
        .values("line_item__resource_id", "passback_state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        bucket = "dead" if row["passback_state"] in DEAD_STATES else "waiting"
        out[row["line_item__resource_id"] or ""][bucket] += row["n"]
    return out


def _quiz_rows(
    launch: LtiLaunch, context_pk: int, placed: set[str], scores: dict[str, dict[str, int]]
) -> list[ActivityRow]:
    quizzes = list(
        Quiz.objects.filter(context_id=context_pk, context__registration_id=launch.registration_id)
        .annotate(
            current=Count("questions", filter=Q(questions__is_current=True)),
            drafts=Count("questions", filter=Q(questions__is_current=True, questions__status=Question.Status.DRAFT)),
        )
        .order_by("-updated_at")
    )
    ratio = Cast(F("score"), FloatField()) / NullIf(F("score_maximum"), 0.0)
    figures: dict[int, dict[str, Any]] = {
        row["quiz_id"]: dict(row)
        for row in Attempt.objects.filter(quiz__context_id=context_pk, state=Attempt.State.SUBMITTED, is_preview=False)
        .values("quiz_id")
        .annotate(n=Count("id"), learners=Count("user_id", distinct=True), avg=Avg(ratio))
        .order_by()
    }
    reviews = dict(
        Answer.objects.awaiting_review()
        .filter(attempt__quiz__context_id=context_pk, attempt__is_preview=False, attempt__needs_review=True)
        .values("attempt__quiz_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("attempt__quiz_id", "n")
    )
    rows = []
    for quiz in quizzes:
        key = f"quiz:{quiz.pk}"
        figure = figures.get(quiz.pk, {})
        state = "draft" if not quiz.is_published else ("in_course" if key in placed else "published")
        count = quiz.current  # type: ignore[attr-defined]
        rows.append(
            ActivityRow(
                kind="quiz",
                pk=quiz.pk,
                title=quiz.title,
                state=state,
                manage_url=page_url("quizzes:manage", launch, quiz.pk),
                size=ngettext("%(count)d question", "%(count)d questions", count) % {"count": count},
                attempts=figure.get("n", 0),
                learners=figure.get("learners", 0),
                average=figure.get("avg"),
                pending_reviews=reviews.get(quiz.pk, 0),
                to_approve=quiz.drafts,  # type: ignore[attr-defined]
                scores_waiting=scores[key]["waiting"] if key in scores else 0,
                scores_dead=scores[key]["dead"] if key in scores else 0,
                results_url=page_url("analytics:results", launch, quiz.pk),
                items_url=page_url("analytics:items", launch, quiz.pk),
            )
        )
    return rows


def _deck_rows(
    launch: LtiLaunch, context_pk: int, placed: set[str], scores: dict[str, dict[str, int]]
) -> list[ActivityRow]:
    decks = list(
        Deck.objects.filter(context_id=context_pk, context__registration_id=launch.registration_id)
        .annotate(
            approved=Count("cards", filter=Q(cards__status=Card.Status.APPROVED)),
            proposed=Count("cards", filter=Q(cards__status=Card.Status.PROPOSED)),
        )
        .order_by("-updated_at")
    )
    reviews: dict[int, dict[str, Any]] = {
        row["deck_id"]: dict(row)
        for row in ReviewLog.objects.filter(deck__context_id=context_pk)
        .values("deck_id")
        .annotate(n=Count("id"), learners=Count("learner_id", distinct=True))
        .order_by()
    }
    progress = dict(
        DeckGrade.objects.filter(deck__context_id=context_pk)
        .values("deck_id")
        .annotate(avg=Avg("progress"))
        .order_by()
        .values_list("deck_id", "avg")
    )
    rows = []
    for deck in decks:
        key = f"deck:{deck.pk}"
        review = reviews.get(deck.pk, {})
        state = "draft" if deck.status != Deck.Status.PUBLISHED else ("in_course" if key in placed else "published")
        count = deck.approved  # type: ignore[attr-defined]
        rows.append(
            ActivityRow(
                kind="deck",
                pk=deck.pk,
                title=deck.title,
                state=state,
                manage_url=page_url("flashcards:deck_detail", launch, deck.pk),
                size=ngettext("%(count)d card", "%(count)d cards", count) % {"count": count},
                attempts=review.get("n", 0),
                learners=review.get("learners", 0),
                average=progress.get(deck.pk),
                to_approve=deck.proposed,  # type: ignore[attr-defined]
                scores_waiting=scores[key]["waiting"] if key in scores else 0,
                scores_dead=scores[key]["dead"] if key in scores else 0,
            )
        )
    return rows


def _attention(launch: LtiLaunch, overview: Overview, running: set[int]) -> list[Attention]:
    items: list[Attention] = []
    if overview.roster_state == SyncStatus.FAILED:
        items.append(
            Attention(
                0,
                _("The roster could not be read from the course: %(error)s.")
                % {"error": overview.roster_error or _("the platform refused")},
                page_url("roster:roster", launch),
                _("Open the roster"),
            )
        )
    for row in overview.rows:
        quiz = row.kind == "quiz"
        if row.scores_dead:
            items.append(
                Attention(
                    0,
                    (
                        ngettext(
                            "%(count)d score of the quiz “%(title)s” did not reach the gradebook; "
                            "an administrator can send it again.",
                            "%(count)d scores of the quiz “%(title)s” did not reach the gradebook; "
                            "an administrator can send them again.",
                            row.scores_dead,
                        )
                        if quiz
                        else ngettext(
                            "%(count)d score of the deck “%(title)s” did not reach the gradebook; "
                            "an administrator can send it again.",
                            "%(count)d scores of the deck “%(title)s” did not reach the gradebook; "
                            "an administrator can send them again.",
                            row.scores_dead,
                        )
                    )
                    % {"count": row.scores_dead, "title": row.title},
                    row.results_url or row.manage_url,
                    _("See the results") if row.results_url else _("Open the deck"),
                )
            )
        if row.pending_reviews:
            items.append(
                Attention(
                    1,
                    ngettext(
                        "%(count)d answer to “%(title)s” wait for your review before the grade is final.",
                        "%(count)d answers to “%(title)s” wait for your review before the grade is final.",
                        row.pending_reviews,
                    )
                    % {"count": row.pending_reviews, "title": row.title},
                    page_url("quizzes:review", launch),
                    _("Open the review queue"),
                )
            )
        if row.to_approve and not (row.kind == "quiz" and row.pk in running):
            items.append(
                Attention(
                    1 if row.state != "draft" else 2,
                    (
                        ngettext(
                            "%(count)d generated question in “%(title)s” need your approval.",
                            "%(count)d generated questions in “%(title)s” need your approval.",
                            row.to_approve,
                        )
                        if quiz
                        else ngettext(
                            "%(count)d generated card in “%(title)s” need your approval.",
                            "%(count)d generated cards in “%(title)s” need your approval.",
                            row.to_approve,
                        )
                    )
                    % {"count": row.to_approve, "title": row.title},
                    row.manage_url,
                    _("Review the questions") if quiz else _("Review the cards"),
                )
            )
        if row.state == "published":
            items.append(
                Attention(
                    2,
                    (
                        _("The quiz “%(title)s” is published but no link in the course opens it yet.")
                        if quiz
                        else _("The deck “%(title)s” is published but no link in the course opens it yet.")
                    )
                    % {"title": row.title},
                    row.manage_url,
                    _("Add it to the course"),
                )
            )
    return sorted(items, key=lambda item: item.level)


def course_overview(*, launch: LtiLaunch, context_pk: int) -> Overview:
    placed = _placed(context_pk)
    scores = _scores(context_pk)
    rows = _quiz_rows(launch, context_pk, placed, scores) + _deck_rows(launch, context_pk, placed, scores)
    sync = RosterSync.objects.filter(context_id=context_pk, resource_link__isnull=True).first()
    running = set(
        GenerationRun.objects.filter(quiz__context_id=context_pk)
        .exclude(state__in=[GenerationRun.State.DONE, GenerationRun.State.FAILED])
        .values_list("quiz_id", flat=True)
    )
    overview = Overview(
        rows=rows,
        roster_state=sync.status if sync else SyncStatus.NEVER,
        roster_label=sync.get_status_display() if sync else str(SyncStatus.NEVER.label),
        roster_when=(sync.last_success_at or sync.last_attempt_at) if sync else None,
        roster_error=sync.last_error if sync else "",
    )
    overview.attention = _attention(launch, overview, running)
    return overview
