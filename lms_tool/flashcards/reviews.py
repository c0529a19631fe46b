"""The review session: which card comes next, and recording a rating exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from fsrs import Card as FsrsCard
from fsrs import Rating
from fsrs import State as FsrsState

from lms_tool.core.errors import ToolError
from lms_tool.core.events import event_record
from lms_tool.lti.models import LtiUser, ResourceLink

from . import grades, optimizer, scheduling
from .models import Card, CardState, Deck, ReviewLog, State

TOKEN_SALT = "flashcards.review"
TOKEN_MAX_AGE = 7 * 24 * 3600
# With nothing else to do, a learning card due within this window is shown early (Anki's default).
LEARN_AHEAD = timedelta(minutes=20)


class ReviewRefused(ToolError):
    """A rating that must not change anything: stale, doubled, forged, or for someone else's card."""

    def __init__(self, code: str, user_message: StrOrPromise, *, status: int, detail: str = ""):
        super().__init__(user_message, status=status, detail=detail)
        self.code = code


@dataclass
class ShownCard:
    card: Card
    state: CardState | None
    token: str
    intervals: dict[int, str] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        return self.state is None


def load_of(learner: LtiUser, now: datetime) -> scheduling.Load | None:
    """The learner's cards already due on each coming day (all their decks: the day's load is theirs), for
    load balancing; None when it is turned off (``FLASHCARDS["LOAD_BALANCING"]``)."""
    if not getattr(django_settings, "FLASHCARDS", {}).get("LOAD_BALANCING", True):
        return None

    def load(first: int, last: int) -> dict[int, int]:
        rows = CardState.objects.filter(
            learner=learner,
            state=State.REVIEW,
            due__gte=now + timedelta(days=first) - timedelta(hours=12),
            due__lt=now + timedelta(days=last) + timedelta(hours=12),
        ).values_list("due", flat=True)
        # Day d is the 24 hours around now + d days: a card due then is due on the same study day.
        counts: dict[int, int] = {}
        for due in rows:
            day = round((due - now) / timedelta(days=1))
            counts[day] = counts.get(day, 0) + 1
        return counts

    return load


def settings_for(deck: Deck, learner: LtiUser) -> scheduling.Settings:
    fitted = optimizer.parameters_for(learner=learner, deck=deck)
    return scheduling.Settings(
        desired_retention=deck.desired_retention,
        learning_steps=tuple(int(s) for s in deck.learning_steps),
        relearning_steps=tuple(int(s) for s in deck.relearning_steps),
        maximum_interval=deck.maximum_interval,
        enable_fuzzing=deck.enable_fuzzing,
        parameters=scheduling.parameters_or_default(fitted),
    )


def to_fsrs(state: CardState) -> FsrsCard:
    return FsrsCard(
        card_id=state.card_id,
        state=FsrsState(state.state),
        step=state.step,
        stability=state.stability,
        difficulty=state.difficulty,
        due=state.due.astimezone(UTC),
        last_review=state.last_review.astimezone(UTC) if state.last_review else None,
    )


def token_make(*, deck: Deck, card: Card, learner: LtiUser, reps: int) -> str:
    """One token per shown card: it names the learner and the review number the card was shown at."""
    return signing.dumps({"d": deck.pk, "c": card.pk, "l": learner.pk, "r": reps}, salt=TOKEN_SALT, compress=False)


def _token_read(token: str, *, deck: Deck, learner: LtiUser) -> dict[str, int]:
    try:
        data: dict[str, Any] = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ReviewRefused(
            "token_expired", _("This card was shown too long ago. Reload to continue."), status=409, detail=str(error)
        ) from error
    except signing.BadSignature as error:
        raise ReviewRefused(
            "bad_token", _("This rating could not be matched to a card shown to you."), status=400, detail=str(error)
        ) from error
    if data.get("l") != learner.pk:
        raise ReviewRefused(
            "not_yours",
            _("This card was not shown to you, so it cannot be rated by you."),
            status=403,
            detail=f"token for learner {data.get('l')}, request by {learner.pk}",
        )
    if data.get("d") != deck.pk:
        raise ReviewRefused(
            "wrong_deck",
            _("This card belongs to another deck."),
            status=403,
            detail=f"token for deck {data.get('d')}, posted to deck {deck.pk}",
        )
    return {"c": int(data["c"]), "r": int(data["r"])}


def _start_of_day(now: datetime, zone: tzinfo | None = None) -> datetime:
    """The learner's last midnight: the daily limit of new cards resets then, not at the server's (UTC) midnight
    (docs/assessment.md, "Dates and time zones"). ``zone``: the learner's (lti/timezones.launch_zone)."""
    local = timezone.localtime(now, zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def new_cards_left(*, deck: Deck, learner: LtiUser, now: datetime, zone: tzinfo | None = None) -> int:
    since = _start_of_day(now, zone)
    started_today = CardState.objects.filter(deck=deck, learner=learner, created_at__gte=since).count()
    return max(0, deck.new_cards_per_day - started_today)


def due_states(*, deck: Deck, learner: LtiUser, now: datetime):  # type: ignore[no-untyped-def]
    """Cards due now, most overdue first (served by the (learner, due) index)."""
    return CardState.objects.filter(learner=learner, due__lte=now, deck=deck).order_by("due", "id")


# The hottest read of a session, written out: the ORM would spend longer compiling it (~0.5 ms) than PostgreSQL
# spends answering it from the (learner, due) index (~0.1 ms on 10M states).
_DUE_FIRST = (
    "SELECT * FROM flashcards_cardstate WHERE learner_id = %s AND due <= %s AND deck_id = %s ORDER BY due, id LIMIT 1"
)


def due_first(*, deck: Deck, learner: LtiUser, now: datetime) -> CardState | None:
    """The most overdue card of the learner in the deck, if any is due."""
    return next(iter(CardState.objects.raw(_DUE_FIRST, [learner.pk, now, deck.pk])), None)


def _new_cards(deck: Deck, learner: LtiUser):  # type: ignore[no-untyped-def]
    seen = CardState.objects.filter(learner=learner, card=OuterRef("pk"))
    return Card.objects.approved().filter(deck=deck).exclude(Exists(seen)).order_by("position", "id")


def queue_counts(
    *, deck: Deck, learner: LtiUser, now: datetime | None = None, zone: tzinfo | None = None
) -> dict[str, int]:
    now = now or timezone.now()
    new_total = _new_cards(deck, learner).count()
    return {
        "due": due_states(deck=deck, learner=learner, now=now).count(),
        "new": min(new_total, new_cards_left(deck=deck, learner=learner, now=now, zone=zone)),
        "unseen": new_total,
    }


def next_card(
    *, deck: Deck, learner: LtiUser, now: datetime | None = None, zone: tzinfo | None = None
) -> ShownCard | None:
    """Due cards first, then new ones within today's limit (the learner's day, ``zone``), then learning cards
    due shortly; else None."""
    now = now or timezone.now()
    state = due_first(deck=deck, learner=learner, now=now)
    card = state.card if state else None
    if card is None and new_cards_left(deck=deck, learner=learner, now=now, zone=zone) > 0:
        card = _new_cards(deck, learner).first()
    if card is None:
        state = (
            due_states(deck=deck, learner=learner, now=now + LEARN_AHEAD)
            .exclude(state=State.REVIEW)
            .select_related("card")
            .first()
        )
        card = state.card if state else None
    if card is None:
        return None
    reps = state.reps if state else 0
    fsrs_card = to_fsrs(state) if state else scheduling.new_card(card.pk, now)
    settings = settings_for(deck, learner)
    draw = scheduling.fuzz_draw(learner.pk, card.pk, reps)
    intervals = {
        r: scheduling.human_interval(d)
        for r, d in scheduling.preview(settings, fsrs_card, now.astimezone(UTC), draw, load_of(learner, now)).items()
    }
    return ShownCard(card, state, token_make(deck=deck, card=card, learner=learner, reps=reps), intervals)


def next_due_at(*, deck: Deck, learner: LtiUser) -> datetime | None:
    return CardState.objects.filter(learner=learner, deck=deck).order_by("due").values_list("due", flat=True).first()


def _replayed(*, learner: LtiUser, client_id: str, card_pk: int) -> CardState | None:
    """The card's state when this rating (by its client id) was recorded already; None when it is new."""
    recorded = ReviewLog.objects.filter(learner=learner, client_id=client_id).first()
    if recorded is None:
        return None
    if recorded.card_id != card_pk:
        raise ReviewRefused(
            "bad_client_id",
            _("This rating could not be read; reload the page."),
            status=400,
            detail=f"client id reused for card {card_pk} (recorded for {recorded.card_id})",
        )
    return CardState.objects.get(learner=learner, card_id=recorded.card_id)


def _state_advance(
    *, deck: Deck, learner: LtiUser, card: Card, shown_at_reps: int, rating: int, now: datetime
) -> CardState:
    """Schedule the card by FSRS from the state it was shown in, and save it; refused if rated since."""
    state = CardState.objects.select_for_update().filter(learner=learner, card=card).first()
    is_new = state is None
    reps = state.reps if state else 0
    if reps != shown_at_reps:
        raise ReviewRefused(
            "already_rated",
            _("This card was already rated; your first answer counts."),
            status=409,
            detail=f"shown at review {shown_at_reps}, now at {reps}",
        )
    before = to_fsrs(state) if state else scheduling.new_card(card.pk, now)
    after = scheduling.review(
        settings_for(deck, learner),
        before,
        Rating(rating),
        now,
        scheduling.fuzz_draw(learner.pk, card.pk, reps),
        load_of(learner, now),
    )
    if state is None:
        state = CardState(learner=learner, card=card, deck=deck, due=now, created_at=now)
    state.state, state.step = int(after.state), after.step
    state.stability, state.difficulty = after.stability, after.difficulty
    state.due, state.last_review = after.due, after.last_review
    state.reps = reps + 1
    state.lapses += int(before.state == FsrsState.Review and rating == Rating.Again)
    if not is_new:
        state.save()
        return state
    try:
        with transaction.atomic():
            state.save(force_insert=True)
    except IntegrityError as error:  # the same card rated at the same moment in another request
        raise ReviewRefused(
            "already_rated",
            _("This card was already rated; your first answer counts."),
            status=409,
            detail="concurrent first rating",
        ) from error
    return state


@transaction.atomic
def review_record(
    *,
    deck: Deck,
    learner: LtiUser,
    token: str,
    rating: int,
    duration_ms: int | None = None,
    now: datetime | None = None,
    resource_link: ResourceLink | None = None,
    client_id: str = "",
) -> CardState:
    """Apply one rating to the card it was shown for, once: a second submission changes nothing.

    ``client_id`` is the id the review page gave the rating: the same rating sent again (kept in the
    browser while offline or after the launch ended, then replayed) answers with the card's state as it
    is, instead of a refusal.

    With the resource link the deck was launched from, the learner's deck progress goes to its gradebook
    column in the same transaction (grades.progress_record).
    """
    if rating not in (1, 2, 3, 4):
        raise ReviewRefused(
            "bad_rating", _("Choose Again, Hard, Good or Easy."), status=400, detail=f"rating={rating!r}"
        )
    if len(client_id) > 64 or not all(ch.isalnum() or ch == "-" for ch in client_id):
        raise ReviewRefused("bad_client_id", _("This rating could not be read; reload the page."), status=400)
    claims = _token_read(token, deck=deck, learner=learner)
    replayed = _replayed(learner=learner, client_id=client_id, card_pk=claims["c"]) if client_id else None
    if replayed is not None:
        return replayed
    card = Card.objects.approved().filter(deck=deck, pk=claims["c"]).first()
    if card is None:
        raise ReviewRefused("card_gone", _("This card is no longer in the deck."), status=404)
    now = (now or timezone.now()).astimezone(UTC)
    state = _state_advance(deck=deck, learner=learner, card=card, shown_at_reps=claims["r"], rating=rating, now=now)
    ReviewLog.objects.create(
        learner=learner,
        card=card,
        deck=deck,
        rating=rating,
        reviewed_at=now,
        duration_ms=duration_ms,
        state_after=state.state,
        stability_after=state.stability or 0.0,
        difficulty_after=state.difficulty or 0.0,
        due_after=state.due,
        client_id=client_id,
    )
    # For learning records (xAPI "answered" and deck progress, docs/xapi.md): what was rated and the
    # interval FSRS chose, in the rating's transaction.
    event_record(
        type="flashcards.card_reviewed",
        subject_type="card",
        subject_id=card.pk,
        context_pk=deck.context_id,
        data={
            "deck": deck.pk,
            "user": learner.pk,
            "rating": rating,
            "reps": state.reps,
            "interval_seconds": max(0, int((state.due - now).total_seconds())),
            "duration_ms": duration_ms,
            "resource_link": resource_link.pk if resource_link is not None else None,
        },
    )
    if resource_link is not None:
        grades.progress_record(deck=deck, learner=learner, resource_link=resource_link, now=now)
    return state
