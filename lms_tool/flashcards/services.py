"""Writes for instructors: decks, their cards, generation from course text, approval and publishing."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from lms_tool.core.errors import ToolError
from lms_tool.core.events import event_record
from lms_tool.core.leases import lease_claim, lease_release
from lms_tool.core.queue import task_send
from lms_tool.core.services import audit_record
from lms_tool.lti.models import Context, LtiUser

from .models import Card, Deck, DeckGeneration

logger = logging.getLogger(__name__)
DECK_FIELDS = (
    "title",
    "description",
    "desired_retention",
    "maximum_interval",
    "learning_steps",
    "relearning_steps",
    "new_cards_per_day",
    "enable_fuzzing",
    "grading_rule",
    "grading_threshold",
)
MAX_GENERATION_CARDS = 50
MAX_GENERATION_CHARS = 50_000


class DeckInvalid(ToolError):
    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message, status=400)
        self.errors = errors or {}


def _audit(actor: LtiUser | None, action: str, obj: Deck | Card, after: Any = None) -> None:
    audit_record(
        actor_type="user",
        actor_id=str(actor.pk) if actor else "",
        action=f"flashcards.{action}",
        object_type=obj._meta.model_name or "",
        object_id=obj.pk,
        after=after,
    )


def _clean(obj: Deck | Card, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as error:
        raise DeckInvalid(gettext("Some values need fixing."), error.message_dict) from error
    if isinstance(obj, Deck):
        for name in ("learning_steps", "relearning_steps"):
            steps = getattr(obj, name)
            if not isinstance(steps, list) or not all(isinstance(s, int) and 1 <= s <= 86400 for s in steps):
                raise DeckInvalid(
                    gettext("Some values need fixing."), {name: [gettext("Steps are 1 second to 1 day each.")]}
                )


@transaction.atomic
def deck_create(*, context: Context, actor: LtiUser, title: str, **fields: Any) -> Deck:
    deck = Deck(
        context=context, created_by=actor, title=title.strip(), **{k: v for k, v in fields.items() if k in DECK_FIELDS}
    )
    _clean(deck, exclude=["context", "created_by"])
    deck.save()
    _audit(actor, "deck_created", deck, {"title": deck.title})
    return deck


@transaction.atomic
def deck_update(*, deck: Deck, actor: LtiUser, **fields: Any) -> Deck:
    before = {k: getattr(deck, k) for k in DECK_FIELDS}
    for key, value in fields.items():
        if key in DECK_FIELDS:
            setattr(deck, key, value)
    _clean(deck, exclude=["context", "created_by"])
    deck.save()
    changed = {k: getattr(deck, k) for k in DECK_FIELDS if getattr(deck, k) != before[k]}
    _audit(actor, "deck_updated", deck, changed)
    return deck


@transaction.atomic
def deck_publish(*, deck: Deck, actor: LtiUser, proposed_confirmed: bool = False) -> Deck:
    """Learners see the deck's approved cards from now on; proposed ones stay hidden until approved.

    With cards still awaiting approval the deck is published only once the instructor confirms it
    (``proposed_confirmed``): a deck that goes out without the cards they meant to include is a surprise."""
    if not Card.objects.approved().filter(deck=deck).exists():
        raise DeckInvalid(gettext("Approve at least one card before publishing the deck."))
    proposed = Card.objects.filter(deck=deck, status=Card.Status.PROPOSED).count()
    if proposed and not proposed_confirmed:
        raise DeckInvalid(
            ngettext(
                "%(count)d card still awaits your approval, and learners will not see them. Approve them first, "
                "or publish without them.",
                "%(count)d cards still await your approval, and learners will not see them. Approve them first, "
                "or publish without them.",
                proposed,
            )
            % {"count": proposed}
        )
    deck.status, deck.published_at = Deck.Status.PUBLISHED, timezone.now()
    deck.save(update_fields=["status", "published_at", "updated_at"])
    _audit(actor, "deck_published", deck)
    event_record(
        type="flashcards.deck_published",
        subject_type="deck",
        subject_id=deck.pk,
        data={"title": deck.title, "cards": Card.objects.approved().filter(deck=deck).count()},
        context_pk=deck.context_id,
    )
    return deck


@transaction.atomic
def deck_unpublish(*, deck: Deck, actor: LtiUser) -> Deck:
    deck.status = Deck.Status.DRAFT
    deck.save(update_fields=["status", "updated_at"])
    _audit(actor, "deck_unpublished", deck)
    return deck


def _next_position(deck: Deck) -> int:
    return (Card.objects.filter(deck=deck).aggregate(m=Max("position"))["m"] or 0) + 1


def _card_kind(front: str) -> str:
    from .transfer import CLOZE

    return Card.Kind.CLOZE if CLOZE.search(front) else Card.Kind.BASIC


@transaction.atomic
def card_create(*, deck: Deck, actor: LtiUser, front: str, back: str, tags: list[str] | None = None) -> Card:
    """A card written by staff is approved as it is written."""
    card = Card(
        deck=deck,
        front=front.strip(),
        back=back.strip(),
        tags=tags or [],
        kind=_card_kind(front),
        status=Card.Status.APPROVED,
        origin=Card.Origin.MANUAL,
        position=_next_position(deck),
    )
    _clean(card, exclude=["deck"])
    card.save()
    _audit(actor, "card_created", card)
    return card


@transaction.atomic
def card_update(*, card: Card, actor: LtiUser, front: str, back: str, tags: list[str]) -> Card:
    before = {"front": card.front, "back": card.back, "tags": card.tags}
    card.front, card.back, card.tags, card.kind = front.strip(), back.strip(), tags, _card_kind(front)
    _clean(card, exclude=["deck"])
    card.save()
    _audit(actor, "card_updated", card, {"before": before})
    return card


@transaction.atomic
def cards_approve(*, deck: Deck, actor: LtiUser, card_ids: list[int] | None = None) -> int:
    """Approve the given proposed cards of the deck (all of them when ``card_ids`` is None)."""
    cards = Card.objects.filter(deck=deck, status=Card.Status.PROPOSED)
    if card_ids is not None:
        cards = cards.filter(pk__in=card_ids)
    ids = list(cards.values_list("pk", flat=True))
    Card.objects.filter(pk__in=ids).update(status=Card.Status.APPROVED, updated_at=timezone.now())
    audit_record(
        actor_type="user",
        actor_id=str(actor.pk),
        action="flashcards.cards_approved",
        object_type="deck",
        object_id=deck.pk,
        after={"cards": ids},
    )
    return len(ids)


@transaction.atomic
def card_delete(*, card: Card, actor: LtiUser) -> None:
    """Removes the card with its learners' states and review log (a rejected draft, or a card withdrawn)."""
    _audit(actor, "card_deleted", card, {"front": card.front[:200], "status": card.status})
    card.delete()


@transaction.atomic
def generation_request(*, deck: Deck, actor: LtiUser, text: str, count: int) -> DeckGeneration:
    """Queue generation of ``count`` proposed cards from course text (the provider may be slow)."""
    text = text.strip()
    if not text:
        raise DeckInvalid(gettext("Paste the course text to make cards from."))
    if len(text) > MAX_GENERATION_CHARS:
        raise DeckInvalid(
            gettext("The text is %(length)d characters long; at most %(most)d per request.")
            % {"length": len(text), "most": MAX_GENERATION_CHARS}
        )
    if not 1 <= count <= MAX_GENERATION_CARDS:
        raise DeckInvalid(gettext("Ask for 1 to %(most)d cards.") % {"most": MAX_GENERATION_CARDS})
    generation = DeckGeneration.objects.create(deck=deck, requested_by=actor, text=text, count=count)
    transaction.on_commit(lambda: task_send("flashcards.generation_run", generation.pk))
    return generation


def generation_run(*, generation: DeckGeneration) -> DeckGeneration:
    """Ask the AI provider for cards; store the usable ones as proposed cards for the instructor to review."""
    from lms_tool.ai import ProviderError, get_provider
    from lms_tool.ai.policy import provider_for
    from lms_tool.lti.ai_control import ai_control_of

    if generation.status != DeckGeneration.Status.PENDING:
        return generation  # a redelivered task: the work is done
    # A re-delivered message while another worker asks the model for these cards does nothing
    # (lms_tool/core/leases.py); a lease whose worker died expires and the next delivery takes over.
    lease_name = f"flashcards.generation:{generation.pk}"
    lease = lease_claim(lease_name, seconds=settings.GENERATION_LEASE_SECONDS)
    if lease is None:
        logger.info("card generation %s is held by another worker; this delivery does nothing", generation.pk)
        return generation
    try:
        # The registration's AI decision (docs/ai-control.md): off or over budget, the offline provider writes.
        provider = provider_for(ai_control_of(generation.deck.context.registration_id), get_provider())
        try:
            result = provider.generate_cards(text=generation.text, count=generation.count)
        except ProviderError as error:
            logger.warning("card generation %s failed: %s", generation.pk, error)
            DeckGeneration.objects.filter(pk=generation.pk, status=DeckGeneration.Status.PENDING).update(
                status=DeckGeneration.Status.FAILED,
                error=str(error)[:2000],
                finished_at=timezone.now(),
                ai_notice=provider.notice,
            )
            generation.refresh_from_db()
            return generation
        return _generation_store(generation, result, provider)
    finally:
        lease_release(lease_name, lease)


@transaction.atomic
def _generation_store(generation: DeckGeneration, result: Any, provider: Any) -> DeckGeneration:
    # Claimed with a conditional UPDATE: of two workers that both got here (a lease that expired under
    # a slow model), only the first stores its cards.
    if not DeckGeneration.objects.filter(pk=generation.pk, status=DeckGeneration.Status.PENDING).update(
        status=DeckGeneration.Status.DONE
    ):
        generation.refresh_from_db()
        return generation
    deck = generation.deck
    start = _next_position(deck)
    Card.objects.bulk_create(
        Card(
            deck=deck,
            front=d.front,
            back=d.back,
            source_passage=d.source_passage,
            tags=list(d.tags),
            kind=_card_kind(d.front),
            status=Card.Status.PROPOSED,
            origin=Card.Origin.AI,
            position=start + i,
            model=result.model[:200],
            ai_provider=provider.provenance.provider,
            prompt_version=provider.provenance.prompt_version,
        )
        for i, d in enumerate(result.items)
    )
    generation.status, generation.finished_at = DeckGeneration.Status.DONE, timezone.now()
    generation.model, generation.prompt = result.model[:200], result.prompt
    generation.created_count = len(result.items)
    generation.ai_notice = provider.notice
    # "check" names the quality check that held a card back (lms_tool/ai/quality.py), for the deck page.
    generation.rejected = [
        {"reason": r.reason, "raw": str(r.raw)[:500], **({"check": r.check} if getattr(r, "check", "") else {})}
        for r in result.rejected
    ]
    generation.save()
    audit_record(
        actor_type="system",
        action="flashcards.cards_generated",
        object_type="deck",
        object_id=deck.pk,
        source=generation.model,
        after={"generation": generation.pk, "cards": len(result.items)},
    )
    return generation


CARD_FIELDS = (
    "kind",
    "front",
    "back",
    "source_passage",
    "tags",
    "status",
    "origin",
    "position",
    "model",
    "ai_provider",
    "prompt_version",
)


@transaction.atomic
def deck_copy(*, original: Deck, context: Context, actor: LtiUser | None) -> Deck:
    """``context``'s own copy of ``original`` (a deck of another course of the same registration): its settings
    and cards, no learner's reviews or memory states. Made once: a later call returns the copy already made."""
    if original.context.registration_id != context.registration_id:
        raise DeckInvalid(gettext("There is no such deck in this course."))
    Deck.objects.select_for_update().filter(pk=original.pk).first()  # one copy, even for two first launches
    existing = Deck.objects.filter(context=context, copied_from=original).order_by("pk").first()
    if existing is not None:
        return existing
    copy = Deck.objects.create(
        context=context,
        created_by=original.created_by,
        copied_from=original,
        status=original.status,
        published_at=original.published_at,
        **{name: getattr(original, name) for name in DECK_FIELDS},
    )
    cards = [Card(deck=copy, **{name: getattr(c, name) for name in CARD_FIELDS}) for c in original.cards.all()]
    Card.objects.bulk_create(cards)
    _audit(
        actor,
        "deck_copied",
        copy,
        {"copied_from": original.pk, "from_context": original.context_id, "cards": len(cards)},
    )
    return copy
