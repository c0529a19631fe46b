"""xAPI 1.0.3 statements built from the tool's rows: pure reads, no writes (services.py stores them).

Each builder takes what happened and answers ``[(verb, statement)]`` without an id; the caller gives
each a deterministic id. Vocabulary and profile: vocabulary.py and docs/xapi.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lms_tool.flashcards.models import Card, CardState, Deck
from lms_tool.grading.models import Score
from lms_tool.lti.models import Context, LtiUser, ResourceLink
from lms_tool.privacy.pseudonyms import pseudonym
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz

from . import vocabulary as v
from .models import ActorFormat, LrsEndpoint

Built = list[tuple[str, dict[str, Any]]]
# Names the statement ids and the per-attempt context.registration (uuid5, RFC 4122 §4.3).
NAMESPACE = uuid.UUID("6f0b8c52-3d2a-5b57-9a43-1f5e0c2d7a19")
RATINGS = ("again", "hard", "good", "easy")  # FSRS ratings 1..4
NAME_MAX = 250


@dataclass(frozen=True)
class Target:
    """The LRS a statement goes to and how its registration names people."""

    endpoint: LrsEndpoint
    issuer: str


def statement_uuid(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


def _lang(text: str) -> dict[str, str] | None:
    # The tool does not know the content's language: "und" (RFC 5646 undetermined); xAPI wants a non-empty text.
    text = " ".join((text or "").split())[:NAME_MAX]
    return {"und": text} if text else None


def _definition(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": kind, **extra}
    named = _lang(name)
    if named:
        definition["name"] = named
    return definition


def _activity(iri: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {"objectType": "Activity", "id": iri, "definition": definition}


def _duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.2f}S"  # ISO 8601 duration (xAPI 1.0.3 §4.6)


def _score(raw: float | None, maximum: float | None) -> dict[str, float] | None:
    if raw is None or not maximum or maximum <= 0:
        return None
    raw = min(max(raw, 0.0), maximum)
    return {"scaled": round(raw / maximum, 4), "raw": raw, "min": 0.0, "max": maximum}


def actor(target: Target, user: LtiUser) -> dict[str, Any]:
    """The learner as an account on their platform, or as this registration's pseudonym (docs/xapi.md, "Actor")."""
    if target.endpoint.actor_format == ActorFormat.PSEUDONYM:
        name = pseudonym(registration_pk=target.endpoint.registration_id, sub=user.sub)
        return {"objectType": "Agent", "account": {"homePage": v.base_url(), "name": name}}
    return {"objectType": "Agent", "account": {"homePage": target.issuer, "name": user.sub}}


def course_activity(context: Context) -> dict[str, Any]:
    return _activity(v.activity_iri("course", context.pk), _definition(v.COURSE, context.title or context.label))


def _context(
    context: Context | None,
    *,
    parent: dict[str, Any] | None = None,
    registration: uuid.UUID | None = None,
    instructor: dict[str, Any] | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {"platform": v.PLATFORM}
    activities: dict[str, Any] = {}
    if parent is not None:
        activities["parent"] = [parent]
    if context is not None:
        activities["grouping"] = [course_activity(context)]
        block["extensions"] = {v.LTI_CONTEXT: {"id": context.context_id, "title": context.title}}
    if activities:
        block["contextActivities"] = activities
    if registration is not None:
        block["registration"] = str(registration)
    if instructor is not None:
        block["instructor"] = instructor
    return block


def _statement(
    target: Target, user: LtiUser, verb: str, obj: dict[str, Any], when: datetime, context: dict[str, Any], **extra: Any
) -> tuple[str, dict[str, Any]]:
    body = {
        "actor": actor(target, user),
        "verb": v.verb(verb),
        "object": obj,
        "context": context,
        "timestamp": when.isoformat(),
        **{k: value for k, value in extra.items() if value},
    }
    return verb, body


# Quizzes --------------------------------------------------------------------------------------------


def quiz_activity(quiz: Quiz) -> dict[str, Any]:
    return _activity(v.activity_iri("quiz", quiz.pk), _definition(v.ASSESSMENT, quiz.title))


def attempt_registration(attempt: Attempt) -> uuid.UUID:
    """One xAPI registration per attempt: its attempted, answered and completed statements share it."""
    return statement_uuid(f"{v.base_url()}/attempt/{attempt.pk}")


def _attempt_context(attempt: Attempt) -> Context | None:
    return attempt.resource_link.context if attempt.resource_link is not None else attempt.quiz.context


def question_activity(question: Question) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if question.is_choice:
        extra["interactionType"] = "choice"
        extra["choices"] = [
            {"id": str(i), "description": _lang(str(text)) or {"und": str(i)}}
            for i, text in enumerate(question.options)
        ]
    elif question.type == Question.Type.NUMERIC:
        extra["interactionType"] = "numeric"
    elif question.type == Question.Type.FREE_TEXT:
        extra["interactionType"] = "long-fill-in"
    else:
        extra["interactionType"] = "fill-in"
    return _activity(v.activity_iri("question", question.pk), _definition(v.INTERACTION, question.prompt, **extra))


def response_text(question: Question, response: Any) -> str:
    """The response in the interaction type's format (xAPI 1.0.3 §2.4.4.1.1): choices as ids joined by [,]."""
    if question.is_choice:
        chosen = response if isinstance(response, list) else [response]
        return "[,]".join(str(i) for i in chosen)
    return str(response)


def attempt_started(target: Target, attempt: Attempt) -> Built:
    context = _context(_attempt_context(attempt), registration=attempt_registration(attempt))
    return [_statement(target, attempt.user, "attempted", quiz_activity(attempt.quiz), attempt.started_at, context)]


def attempt_submitted(target: Target, attempt: Attempt, answers: list[Answer]) -> Built:
    """answered for each answered question, then completed, then passed or failed unless a grade waits for
    a person (those two follow the review: ``score_reviewed``)."""
    when = attempt.submitted_at or attempt.started_at
    course, registration = _attempt_context(attempt), attempt_registration(attempt)
    quiz = quiz_activity(attempt.quiz)
    built: Built = []
    for answer in answers:
        if answer.response in (None, "", []):
            continue
        result: dict[str, Any] = {"response": response_text(answer.question, answer.response)}
        if not answer.needs_review and answer.score is not None:
            result["success"] = answer.is_correct is True
            score = _score(answer.score, answer.max_score)
            if score:
                result["score"] = score
        context = _context(course, parent=quiz, registration=registration)
        built.append(
            _statement(
                target, attempt.user, "answered", question_activity(answer.question), when, context, result=result
            )
        )
    score = _score(attempt.score, attempt.score_maximum)
    completed: dict[str, Any] = {"completion": True, "duration": _duration((when - attempt.started_at).total_seconds())}
    if score:
        completed["score"] = score
    context = _context(course, registration=registration)
    built.append(_statement(target, attempt.user, "completed", quiz, when, context, result=completed))
    if not attempt.needs_review and score:
        built.append(_verdict(target, attempt.user, quiz, score, when, context))
    return built


def _verdict(
    target: Target,
    user: LtiUser,
    quiz: dict[str, Any],
    score: dict[str, float],
    when: datetime,
    context: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    passed = score["scaled"] >= target.endpoint.mastery_score
    result = {"success": passed, "completion": True, "score": score}
    return _statement(target, user, "passed" if passed else "failed", quiz, when, context, result=result)


# Grades (AI grades held for a person, and confirmed) ---------------------------------------------------


def _graded_object(score: Score) -> tuple[dict[str, Any], Attempt | None]:
    kind, _, pk = score.line_item.resource_id.partition(":")
    if kind == "quiz" and pk.isdigit():
        attempt = Attempt.objects.select_related("quiz").filter(score_ref=score.pk).first()
        if attempt is None:  # held while the attempt is being graded: its score_ref is not saved yet
            mine = Attempt.objects.select_related("quiz").filter(quiz_id=int(pk), user_id=score.user_id)
            attempt = mine.filter(resource_link_id=score.resource_link_id).order_by("-number").first()
        quiz = attempt.quiz if attempt is not None else Quiz.objects.filter(pk=int(pk)).first()
        if quiz is not None:
            return quiz_activity(quiz), attempt
    if kind == "deck" and pk.isdigit():
        deck = Deck.objects.filter(pk=int(pk)).first()
        if deck is not None:
            return deck_activity(deck), None
    return link_activity(score.resource_link), None


def score_held(target: Target, score: Score) -> Built:
    """An AI grade below the activity's confidence threshold, waiting for a person: scored, marked held."""
    obj, attempt = _graded_object(score)
    result: dict[str, Any] = {"extensions": {v.extension_iri("grade-state"): "held-for-review"}}
    scored = _score(score.score_given, score.score_maximum)
    if scored:
        result["score"] = scored
    registration = attempt_registration(attempt) if attempt is not None else None
    context = _context(score.resource_link.context, registration=registration)
    return [_statement(target, score.user, "scored", obj, score.created_at, context, result=result)]


def score_reviewed(target: Target, score: Score) -> Built:
    """A person confirmed (or changed) the grade: scored with the reviewer as instructor; a quiz attempt then
    gets its passed or failed."""
    obj, attempt = _graded_object(score)
    when = score.reviewed_at or score.timestamp
    result: dict[str, Any] = {"extensions": {v.extension_iri("grade-state"): "confirmed"}}
    scored = _score(score.score_given, score.score_maximum)
    if scored:
        result["score"] = scored
    instructor = actor(target, score.reviewed_by) if score.reviewed_by is not None else None
    registration = attempt_registration(attempt) if attempt is not None else None
    context = _context(score.resource_link.context, registration=registration, instructor=instructor)
    built = [_statement(target, score.user, "scored", obj, when, context, result=result)]
    if attempt is not None and scored:
        built.append(
            _verdict(
                target, score.user, obj, scored, when, _context(score.resource_link.context, registration=registration)
            )
        )
    return built


# Flashcards ---------------------------------------------------------------------------------------


def deck_activity(deck: Deck) -> dict[str, Any]:
    return _activity(v.activity_iri("deck", deck.pk), _definition(v.MODULE, deck.title))


def card_activity(card: Card) -> dict[str, Any]:
    scale = [{"id": name, "description": {"en-US": name.capitalize()}} for name in RATINGS]
    definition = _definition(v.INTERACTION, card.front, interactionType="likert", scale=scale)
    return _activity(v.activity_iri("card", card.pk), definition)


def card_reviewed(target: Target, card: Card, learner: LtiUser, data: dict[str, Any], when: datetime) -> Built:
    """answered with the rating and FSRS's next interval; after a card's first rating, the deck's progress
    (progressed, then completed once every card was studied)."""
    deck = card.deck
    rating = int(data["rating"])
    result: dict[str, Any] = {
        "response": RATINGS[rating - 1],
        "success": rating > 1,  # Again is a lapse: the card was not recalled
        "extensions": {
            v.extension_iri("fsrs-rating"): rating,
            v.extension_iri("fsrs-interval"): _duration(float(data["interval_seconds"])),
            v.extension_iri("fsrs-reviews"): int(data["reps"]),
        },
    }
    if data.get("duration_ms") is not None:
        result["duration"] = _duration(int(data["duration_ms"]) / 1000)
    deck_obj = deck_activity(deck)
    built = [
        _statement(
            target,
            learner,
            "answered",
            card_activity(card),
            when,
            _context(deck.context, parent=deck_obj),
            result=result,
        )
    ]
    if int(data["reps"]) == 1:
        built.extend(deck_progressed(target, deck, learner, when))
    return built


def deck_progressed(target: Target, deck: Deck, learner: LtiUser, when: datetime) -> Built:
    total = Card.objects.approved().filter(deck=deck).count()
    studied = CardState.objects.filter(
        deck=deck, learner=learner, card__status=Card.Status.APPROVED, last_review__isnull=False
    ).count()
    if not total:
        return []
    percent = min(100, round(100 * studied / total))
    result = {"extensions": {v.PROGRESS: percent}, "score": _score(studied, total)}
    built = [
        _statement(target, learner, "progressed", deck_activity(deck), when, _context(deck.context), result=result)
    ]
    if studied >= total:
        done = {"completion": True, "extensions": {v.PROGRESS: 100}}
        built.append(
            _statement(target, learner, "completed", deck_activity(deck), when, _context(deck.context), result=done)
        )
    return built


# Launches -----------------------------------------------------------------------------------------


def link_activity(link: ResourceLink) -> dict[str, Any]:
    return _activity(v.activity_iri("link", link.pk), _definition(v.LINK, link.title))


def launched(target: Target, user: LtiUser, context: Context, link: ResourceLink | None, when: datetime) -> Built:
    obj = link_activity(link) if link is not None else course_activity(context)
    return [_statement(target, user, "launched", obj, when, _context(context))]
