"""Reads: retention analytics over all of a deck's or course's card states, computed with numpy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from lms_tool.ai.quality import held_back_sentence
from lms_tool.core.errors import ToolError
from lms_tool.lti.models import Context, LtiUser
from lms_tool.lti.selectors import launch_scope
from lms_tool.lti.types import LtiLaunch

from . import retention
from .models import Card, CardState, Deck, DeckGeneration, DeckQuerySet, LearnerParameters, State

STATE_COLUMNS = ("learner_id", "card_id", "stability", "last_review", "state", "lapses")


@dataclass
class Retention:
    """Mean predicted recall of a group of (learner, card) states, now and ``days`` later."""

    key: int | str
    label: str
    now: float
    later: float
    states: int
    lapses: int = 0
    unseen: int = 0


NO_DECK = gettext_lazy("There is no such deck in this course.")


def course_of(*, launch: LtiLaunch) -> Context:
    """The launch's course (its registration's, checked by the page decorator); 400 outside a course."""
    context = launch_scope(launch=launch).context
    if context is None:
        raise ToolError(gettext_lazy("This page is only available when the tool is opened from a course."), status=400)
    return context


def _decks_in_course(launch: LtiLaunch) -> DeckQuerySet | None:
    context_pk = launch_scope(launch=launch).context_pk
    if context_pk is None:
        return None
    return Deck.objects.filter(context_id=context_pk, context__registration_id=launch.registration_id)  # type: ignore[return-value]


def deck_for_launch(*, launch: LtiLaunch, pk: int, published_only: bool = False) -> Deck:
    """A deck of the launch's course (published, for learners); anything else answers like a missing deck."""
    decks = _decks_in_course(launch)
    if decks is not None and published_only:
        decks = decks.published()
    deck = decks.filter(pk=pk).select_related("context").first() if decks is not None else None
    if deck is None:
        raise ToolError(NO_DECK, status=404)
    return deck


def card_of(*, deck: Deck, pk: int) -> Card:
    """A card of ``deck`` (already scoped to the launch's course); anything else answers like a missing card."""
    card = Card.objects.filter(deck=deck, pk=pk).first()
    if card is None:
        raise ToolError(gettext_lazy("There is no such card in this deck."), status=404)
    return card


def deck_in_course(*, launch: LtiLaunch, pk: int) -> Deck | None:
    decks = _decks_in_course(launch)
    return decks.filter(pk=pk).first() if decks is not None else None


def deck_copy_in_course(*, launch: LtiLaunch, original_id: int) -> Deck | None:
    decks = _decks_in_course(launch)
    return decks.filter(copied_from_id=original_id).order_by("pk").first() if decks is not None else None


def deck_of_registration(*, launch: LtiLaunch, pk: int) -> Deck | None:
    """A deck of any course of the launch's registration: only for a link the tool proved it issued."""
    return Deck.objects.filter(pk=pk, context__registration_id=launch.registration_id).select_related("context").first()


def decks_for(context: Context, *, published_only: bool = False) -> QuerySet[Deck]:
    decks = Deck.objects.filter(context=context)
    return decks.published() if published_only else decks


def decks_counted(*, launch: LtiLaunch, published_only: bool = False) -> QuerySet[Deck]:
    """The launch's course's decks with ``approved_count`` and ``proposed_count`` (picker, course home, list)."""
    decks = _decks_in_course(launch)
    if decks is None:
        return Deck.objects.none()
    if published_only:
        decks = decks.published()
    return decks.annotate(
        approved_count=Count("cards", filter=Q(cards__status=Card.Status.APPROVED)),
        proposed_count=Count("cards", filter=Q(cards__status=Card.Status.PROPOSED)),
    ).order_by("-updated_at", "-pk")


@dataclass
class DeckPage:
    """What the deck page shows besides its forms."""

    cards: QuerySet[Card]
    proposed: int
    generations: list[DeckGeneration]
    held_back: dict[int, str]  # generation id -> how many cards the quality check held back, and why


def deck_page(*, deck: Deck) -> DeckPage:
    cards = Card.objects.filter(deck=deck)
    generations = list(DeckGeneration.objects.filter(deck=deck)[:5])
    return DeckPage(
        cards=cards,
        proposed=cards.filter(status=Card.Status.PROPOSED).count(),
        generations=generations,
        held_back={g.pk: held_back_sentence(g.rejected, "card") for g in generations},
    )


def _arrays(states: QuerySet[CardState]) -> retention.StateArrays:
    if connection.vendor == "postgresql":
        return _arrays_copy(states)
    return retention.StateArrays.from_rows(list(states.values_list(*STATE_COLUMNS)))


# One COPY row: a field count, then each field's length and value, all big-endian (PostgreSQL's COPY BINARY).
_COPY_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("_1", ">i4"),
        ("learner", ">i8"),
        ("_2", ">i4"),
        ("card", ">i8"),
        ("_3", ">i4"),
        ("stability", ">f8"),
        ("_4", ">i4"),
        ("last_review_us", ">i8"),
        ("_5", ">i4"),
        ("state", ">i2"),
        ("_6", ">i4"),
        ("lapses", ">i4"),
    ]
)
_COPY_HEADER = 19  # signature, flags, header extension length
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds


def _arrays_copy(states: QuerySet[CardState]) -> retention.StateArrays:
    """The same columns straight from PostgreSQL into arrays: COPY BINARY with fixed-width, NULL-free fields,
    read with one ``np.frombuffer`` (1M states in well under a second, ~10 s through model rows)."""
    inner, params = states.values_list(*STATE_COLUMNS).query.sql_with_params()
    # The inner query is Django's own SQL with its parameters kept apart; the rest is constant. A timestamptz
    # travels as int64 microseconds since 2000-01-01; -infinity (no review yet) as the smallest int64.
    sql = (
        "COPY (SELECT l::int8, c::int8, coalesce(s, 'NaN')::float8, coalesce(r, '-infinity'::timestamptz), "  # noqa: S608
        f"st::int2, la::int4 FROM ({inner}) AS t(l, c, s, r, st, la)) TO STDOUT (FORMAT binary)"
    )
    buffer = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        for chunk in copy:
            buffer += chunk
    count = (len(buffer) - _COPY_HEADER - 2) // _COPY_ROW.itemsize
    rows = np.frombuffer(buffer, dtype=_COPY_ROW, offset=_COPY_HEADER, count=count)
    since_2000 = rows["last_review_us"].astype(np.int64)
    return retention.StateArrays(
        learner=rows["learner"].astype(np.int64),
        card=rows["card"].astype(np.int64),
        stability=rows["stability"].astype(np.float64),
        last_review_us=np.where(since_2000 == retention.NEVER, retention.NEVER, since_2000 + _PG_EPOCH_US),
        state=rows["state"].astype(np.int8),
        lapses=rows["lapses"].astype(np.int64),
    )


def _decay_factor(learners: np.ndarray) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Each row's (decay, factor): fsrs defaults, or the learner's fitted weights."""
    default_decay, default_factor = retention.decay_factor()
    fitted = dict(
        LearnerParameters.objects.filter(learner_id__in=np.unique(learners).tolist()).values_list(
            "learner_id", "parameters"
        )
    )
    if not fitted:
        return default_decay, default_factor
    decay = np.full(len(learners), default_decay)
    factor = np.full(len(learners), default_factor)
    for learner_id, parameters in fitted.items():
        rows = learners == learner_id
        decay[rows], factor[rows] = retention.decay_factor(parameters)
    return decay, factor


def _predict(
    arrays: retention.StateArrays, now: datetime, days: int, *, personal: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Recall now and in ``days`` days; ``personal=False`` uses fsrs's default forgetting curve for everyone."""
    decay, factor = _decay_factor(arrays.learner) if personal else retention.decay_factor()
    at = retention.epoch_us(now)
    later = retention.epoch_us(now + timedelta(days=days))
    return (
        retention.retrievability(arrays.stability, arrays.last_review_us, at, decay, factor),
        retention.retrievability(arrays.stability, arrays.last_review_us, later, decay, factor),
    )


def card_retention(*, deck: Deck, now: datetime | None = None, days: int = 7) -> list[Retention]:
    """Per approved card: mean recall across the learners who have seen it, lowest first."""
    now = now or timezone.now()
    cards = list(Card.objects.approved().filter(deck=deck).values_list("pk", "front"))
    arrays = _arrays(CardState.objects.filter(deck=deck))
    r_now, r_later = _predict(arrays, now, days)
    per_card = _by_key(arrays.card, r_now, r_later, arrays.lapses)
    rows = [per_card.get(pk, Retention(pk, "", float("nan"), float("nan"), 0)) for pk, _ in cards]
    for row, (_, front) in zip(rows, cards, strict=True):
        row.label = front
    return sorted(rows, key=lambda r: (np.isnan(r.now), r.now))


def learner_retention(*, deck: Deck, now: datetime | None = None, days: int = 7) -> list[Retention]:
    """Per learner who has reviewed the deck: mean recall over the cards they have seen, lowest first."""
    now = now or timezone.now()
    arrays = _arrays(CardState.objects.filter(deck=deck))
    r_now, r_later = _predict(arrays, now, days)
    rows = _by_key(arrays.learner, r_now, r_later, arrays.lapses)
    names = dict(LtiUser.objects.filter(pk__in=list(rows)).values_list("pk", "name"))
    for pk, row in rows.items():
        row.label = names.get(int(pk), "") or f"Learner {pk}"
    return sorted(rows.values(), key=lambda r: r.now)


def deck_retention(*, context: Context, now: datetime | None = None, days: int = 7) -> list[Retention]:
    now = now or timezone.now()
    result = []
    for deck in decks_for(context):
        arrays = _arrays(CardState.objects.filter(deck=deck))
        r_now, r_later = _predict(arrays, now, days)
        result.append(_summary(deck.pk, deck.title, r_now, r_later, arrays.lapses))
    return result


def concept_retention(*, context: Context, now: datetime | None = None, days: int = 7) -> list[Retention]:
    """Per concept (card tag; an untagged card is its own concept) across the course's decks, lowest first."""
    now = now or timezone.now()
    arrays = _arrays(CardState.objects.filter(deck__context=context))
    r_now, r_later = _predict(arrays, now, days)
    per_card = _by_key(arrays.card, r_now, r_later, arrays.lapses)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    for pk, front, tags in Card.objects.filter(deck__context=context, pk__in=list(per_card)).values_list(
        "pk", "front", "tags"
    ):
        row = per_card[pk]
        for concept in tags or [front[:80]]:
            acc = sums[str(concept)]
            acc[0] += row.now * row.states
            acc[1] += row.later * row.states
            acc[2] += row.states
            acc[3] += row.lapses
    rows = [Retention(c, c, a[0] / a[2], a[1] / a[2], int(a[2]), int(a[3])) for c, a in sums.items() if a[2]]
    return sorted(rows, key=lambda r: r.now)


def course_predictions(
    *, context: Context, now: datetime | None = None, days: int = 7, learner: LtiUser | None = None
) -> tuple[retention.StateArrays, np.ndarray, np.ndarray]:
    """Every card state of the course's decks (or one learner's) with its predicted recall now and ``days``
    later, in one query: for the analytics app's per-learner and per-concept figures."""
    states = CardState.objects.filter(deck__context=context)
    if learner is not None:
        states = states.filter(learner=learner)
    arrays = _arrays(states)
    r_now, r_later = _predict(arrays, now or timezone.now(), days)
    return arrays, r_now, r_later


def _by_key(keys: np.ndarray, r_now: np.ndarray, r_later: np.ndarray, lapses: np.ndarray) -> dict[int, Retention]:
    unique, mean_now, counts = retention.group_mean(keys, r_now)
    _, mean_later, _ = retention.group_mean(keys, r_later)
    _, lapse_sums = retention.group_sum(keys, lapses.astype(np.float64))
    return {
        int(k): Retention(int(k), "", float(n), float(lat), int(c), int(lp))
        for k, n, lat, c, lp in zip(unique, mean_now, mean_later, counts, lapse_sums, strict=True)
    }


def _summary(key: int, label: str, r_now: np.ndarray, r_later: np.ndarray, lapses: np.ndarray) -> Retention:
    if not len(r_now):
        return Retention(key, label, float("nan"), float("nan"), 0)
    return Retention(key, label, float(r_now.mean()), float(r_later.mean()), len(r_now), int(lapses.sum()))


def deck_progress(*, deck: Deck, learner: LtiUser, now: datetime | None = None) -> float:
    """Share of the deck's approved cards in Review state recalled at or above the deck's desired retention."""
    now = now or timezone.now()
    total = Card.objects.approved().filter(deck=deck).count()
    if not total:
        return 0.0
    arrays = _arrays(CardState.objects.filter(deck=deck, learner=learner, card__status=Card.Status.APPROVED))
    r_now, _ = _predict(arrays, now, 0)
    # A hair of tolerance: at its due date a card sits at the desired retention, give or take float rounding.
    known = (arrays.state == State.REVIEW) & (r_now >= deck.desired_retention - 1e-9)
    return float(known.sum()) / total


@dataclass
class LearnerDeckProgress:
    deck: Deck
    seen: int
    total: int
    due: int
    progress: float
    now: float
    later: float
    weakest: list[Retention]


def learner_progress(
    *, learner: LtiUser, context: Context, now: datetime | None = None, days: int = 7
) -> list[LearnerDeckProgress]:
    """A learner's own view: per published deck, what they know now and will in ``days`` days."""
    now = now or timezone.now()
    result = []
    for deck in decks_for(context, published_only=True):
        states = CardState.objects.filter(deck=deck, learner=learner)
        arrays = _arrays(states)
        r_now, r_later = _predict(arrays, now, days)
        summary = _summary(deck.pk, deck.title, r_now, r_later, arrays.lapses)
        fronts = dict(Card.objects.filter(pk__in=arrays.card.tolist()).values_list("pk", "front"))
        order = np.argsort(r_later)[:5]
        weakest = [
            Retention(int(arrays.card[i]), fronts.get(int(arrays.card[i]), ""), float(r_now[i]), float(r_later[i]), 1)
            for i in order
        ]
        result.append(
            LearnerDeckProgress(
                deck=deck,
                seen=len(arrays),
                total=Card.objects.approved().filter(deck=deck).count(),
                due=states.filter(due__lte=now).count(),
                progress=deck_progress(deck=deck, learner=learner, now=now),
                now=summary.now,
                later=summary.later,
                weakest=weakest,
            )
        )
    return result
