"""Reach on every endpoint: an object outside the client's reach answers exactly like a missing one."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.utils import timezone

from lms_tool.core import crypto
from lms_tool.core.events import event_record
from lms_tool.flashcards.models import Deck
from lms_tool.lti.models import Context
from lms_tool.quizzes.models import Attempt, Quiz
from lms_tool.webhooks.models import Delivery, Subscription

from .conftest import enrol, row_counts
from .test_grading_api import _ai_score, _instructor

pytestmark = pytest.mark.django_db

SCOPES = [
    "roster:read",
    "enrollments:write",
    "assessments:read",
    "attempts:read",
    "scores:read",
    "reviews:read",
    "reviews:write",
    "deadletters:read",
    "deadletters:write",
    "events:read",
    "webhooks:read",
    "webhooks:write",
    "analytics:read",
    "privacy:export",
    "privacy:erase",
]
MISSING = 10**9
keys = itertools.count()


def _objects(context: Context, sub: str, subscription: Subscription) -> dict[str, Any]:
    membership = enrol(context, sub)
    quiz = Quiz.objects.create(context=context, title=f"Quiz {sub}")
    attempt = Attempt.objects.create(
        quiz=quiz, user=membership.user, number=1, quiz_version=1, state="submitted", submitted_at=timezone.now()
    )
    event = event_record(
        type="enrollment.added", subject_type="membership", subject_id=1, data={}, context_pk=context.pk
    )
    return {
        "user": membership.user_id,
        "course": context.pk,
        "membership": membership.pk,
        "quiz": quiz.pk,
        "deck": Deck.objects.create(context=context, title=f"Deck {sub}").pk,
        "attempt": attempt.pk,
        "score": _ai_score(context, f"{sub}-scored").pk,
        "event": str(event.event_id),
        "delivery": Delivery.objects.create(subscription=subscription, event=event).pk,
    }


def _subscription(api_client: Any) -> Subscription:
    return Subscription.objects.create(
        name="hook",
        url="https://sis.example.edu/hook",
        events=["*"],
        secret_encrypted=crypto.encrypt("x"),
        api_client=api_client,
    )


@pytest.fixture
def world(make_api, bio, chem) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A client reaching course bio; the same kinds of object in bio (``inside``) and in chem (``outside``)."""
    api = make_api(SCOPES, contexts=[bio], all_contexts=False)
    other = make_api(["webhooks:write"]).api_client
    own = _subscription(api.api_client)
    inside, outside = _objects(bio, "in", own), _objects(chem, "out", own)
    inside["subscription"], outside["subscription"] = own.pk, _subscription(other).pk
    # A delivery of another client's subscription (the one of chem, above, is the client's own but out of reach).
    outside["others_delivery"] = Delivery.objects.create(
        subscription_id=outside["subscription"], event_id=Delivery.objects.get(pk=inside["delivery"]).event_id
    ).pk
    inside["others_delivery"] = inside["delivery"]
    return {"api": api, "inside": inside, "outside": outside, "reviewer": _instructor(bio).user_id}


ENDPOINTS = [
    ("get", "users/{}", "user", None),
    ("get", "users/{}/export", "user", None),
    ("post", "users/{}/erase", "user", {"mode": "delete"}),
    ("get", "courses/{}", "course", None),
    ("get", "enrollments/{}", "membership", None),
    ("delete", "enrollments/{}", "membership", None),
    ("get", "quizzes/{}", "quiz", None),
    ("get", "decks/{}", "deck", None),
    ("get", "attempts/{}", "attempt", None),
    ("get", "scores/{}", "score", None),
    ("post", "review-items/{}/decision", "score", {"reviewer": "REVIEWER", "score_given": 1}),
    ("post", "dead-letters/{}/replay", "score", None),
    ("get", "webhooks/subscriptions/{}", "subscription", None),
    ("patch", "webhooks/subscriptions/{}", "subscription", {"is_active": False}),
    ("delete", "webhooks/subscriptions/{}", "subscription", None),
    ("post", "webhooks/deliveries/{}/replay", "delivery", None),
    ("post", "webhooks/deliveries/{}/replay", "others_delivery", None),
]


@pytest.mark.parametrize(
    ("method", "path", "kind", "body"), ENDPOINTS, ids=[f"{m} {p} {k}" for m, p, k, _ in ENDPOINTS]
)
def test_out_of_reach_answers_exactly_like_missing(world, method, path, kind, body):  # type: ignore[no-untyped-def]
    api = world["api"]
    if body and body.get("reviewer") == "REVIEWER":
        body = {**body, "reviewer": world["reviewer"]}

    def call(pk: int) -> Any:
        url = "/api/v1/" + path.format(pk)
        return getattr(api, method)(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{next(keys)}")

    before = row_counts()
    out_of_reach, missing = call(world["outside"][kind]), call(MISSING)
    assert (out_of_reach.status_code, out_of_reach.json()) == (missing.status_code, missing.json())
    assert missing.status_code == 404
    assert row_counts() == before  # nothing written, no idempotency record kept
    assert call(world["inside"][kind]).status_code != 404  # the same request does reach an object in reach


def test_a_course_or_reviewer_out_of_reach_in_a_body_answers_like_a_missing_one(world):  # type: ignore[no-untyped-def]
    api, outside = world["api"], world["outside"]
    before = row_counts()

    def enrol_in(course: int) -> Any:
        return api.post("/api/v1/enrollments", {"course": course, "user": {"sub": "new"}}, format="json")

    assert enrol_in(outside["course"]).json() == enrol_in(MISSING).json()
    assert enrol_in(MISSING).status_code == 400

    def decide(reviewer: int) -> Any:
        url = f"/api/v1/review-items/{world['inside']['score']}/decision"
        return api.post(url, {"reviewer": reviewer, "score_given": 1}, format="json")

    # A person of the other course is no reviewer this client can name (nor learn exists).
    assert decide(outside["user"]).json() == decide(MISSING).json()
    assert decide(MISSING).status_code == 400
    assert row_counts() == before


LISTS = [
    ("users", "user", "id"),
    ("courses", "course", "id"),
    ("enrollments", "membership", "id"),
    ("quizzes", "quiz", "id"),
    ("decks", "deck", "id"),
    ("attempts", "attempt", "id"),
    ("scores", "score", "id"),
    ("review-items", "score", "id"),
    ("events", "event", "id"),
    ("webhooks/subscriptions", "subscription", "id"),
    ("webhooks/deliveries", "delivery", "id"),
]


@pytest.mark.parametrize(("path", "kind", "key"), LISTS, ids=[p for p, _, _ in LISTS])
def test_lists_hold_what_is_in_reach_and_nothing_else(world, path, kind, key):  # type: ignore[no-untyped-def]
    found = [row[key] for row in world["api"].get(f"/api/v1/{path}").json()["results"]]
    assert world["inside"][kind] in found
    assert world["outside"][kind] not in found


def test_analytics_rows_are_within_reach(world, bio):  # type: ignore[no-untyped-def]
    rows = world["api"].get("/api/v1/analytics/enrollments").json()["results"]
    assert rows and {row["course"] for row in rows} == {bio.pk}
