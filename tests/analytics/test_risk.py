"""Learners who need help, over Django's test client with kept launches: reasons, thresholds, reach, events, API.

A course of three learners: Steve stopped coming three weeks ago after one weak attempt, Alice works every
week and scores well, Hank works but has an answer held for review. A second registration's course holds a
learner of its own, out of every reach here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from lms_tool.analytics import risk_selectors, risk_services
from lms_tool.analytics.risk_models import LearnerRisk, RiskSettings
from lms_tool.analytics.risk_score import LearnerFacts, Thresholds, assess
from lms_tool.api import services as api_services
from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.core.queue import task_send
from lms_tool.flashcards import selectors as flashcard_selectors
from lms_tool.flashcards.models import Card, CardState, Deck, ReviewLog
from lms_tool.lti import claims as c
from lms_tool.lti import services as lti_services
from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, Registration
from lms_tool.lti.types import LtiLaunch
from lms_tool.privacy.pseudonyms import pseudonym
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz
from lms_tool.webhooks import delivery
from lms_tool.webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

LEARNER = c.ROLE_CONTEXT + "Learner"
INSTRUCTOR = c.ROLE_CONTEXT + "Instructor"


def course_make(issuer: str, context_id: str, title: str) -> Context:
    registration = Registration.objects.create(
        issuer=issuer,
        client_id="client-1",
        auth_login_url=f"{issuer}/auth",
        auth_token_url=f"{issuer}/token",
        key_set_url=f"{issuer}/jwks",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="dep-1")
    return Context.objects.create(registration=registration, deployment=deployment, context_id=context_id, title=title)


def member(context: Context, sub: str, name: str, role: str, *, joined_days_ago: int = 30) -> Membership:
    user = LtiUser.objects.create(registration=context.registration, sub=sub, name=name)
    membership = Membership.objects.create(context=context, user=user, roles=[role])
    Membership.objects.filter(pk=membership.pk).update(created_at=timezone.now() - timedelta(days=joined_days_ago))
    membership.refresh_from_db()
    return membership


def launch_keep(membership: Membership) -> str:
    """A live launch of the member, kept as the launch view keeps it (sealed in the shared cache)."""
    context = membership.context
    launch = LtiLaunch(
        launch_id=secrets.token_urlsafe(32),
        claims={
            "iat": int(time.time()),
            "sub": membership.user.sub,
            c.MESSAGE_TYPE: "LtiResourceLinkRequest",
            c.ROLES: list(membership.roles),
            c.CONTEXT: {"id": context.context_id, "title": context.title},
        },
        registration_id=context.registration_id,
        deployment_pk=context.deployment_id,
        user_pk=membership.user_id,
        context_pk=context.pk,
        membership_pk=membership.pk,
    )
    kept = {"launch": launch.to_cache(), "issued_at": int(time.time()), "frame_origins": []}
    name, sealed = lti_services._launch_seal(launch.launch_id, kept)
    cache.set(name, sealed, 3600)
    return launch.launch_id


def attempt_make(quiz: Quiz, user: LtiUser, *, days_ago: float, fraction: float, number: int = 1) -> Attempt:
    at = timezone.now() - timedelta(days=days_ago)
    return Attempt.objects.create(
        quiz=quiz,
        user=user,
        number=number,
        quiz_version=1,
        state=Attempt.State.SUBMITTED,
        started_at=at,
        submitted_at=at + timedelta(minutes=10),
        score=fraction * 4,
        score_maximum=4,
    )


def review_make(card: Card, user: LtiUser, *, days_ago: float, stability: float, rating: int = 3) -> None:
    at = timezone.now() - timedelta(days=days_ago)
    ReviewLog.objects.create(
        learner=user,
        card=card,
        deck=card.deck,
        rating=rating,
        reviewed_at=at,
        state_after=2,
        stability_after=stability,
        difficulty_after=5.0,
        due_after=at + timedelta(days=stability),
    )
    CardState.objects.update_or_create(
        learner=user,
        card=card,
        defaults={
            "deck": card.deck,
            "state": 2,
            "stability": stability,
            "difficulty": 5.0,
            "due": at + timedelta(days=stability),
            "last_review": at,
            "reps": 1,
            "created_at": at,
        },
    )


@dataclass
class World:
    course: Context
    teacher: Membership
    steve: Membership
    alice: Membership
    hank: Membership
    quiz1: Quiz
    quiz2: Quiz
    deck: Deck
    other: Context
    outsider: Membership

    def client_of(self, membership: Membership) -> tuple[Client, str]:
        return Client(), launch_keep(membership)


@pytest.fixture
def world(db: None) -> World:
    now = timezone.now()
    course = course_make("https://canvas.example.edu", "bio-101", "Biology 101")
    teacher = member(course, "t-1", "Tess Teacher", INSTRUCTOR)
    steve = member(course, "s-steve", "Steve Stopped", LEARNER)
    alice = member(course, "s-alice", "Alice Active", LEARNER)
    hank = member(course, "s-hank", "Hank Held", LEARNER)
    Membership.objects.filter(pk=steve.pk).update(last_launch_at=now - timedelta(days=21))
    Membership.objects.filter(pk__in=[alice.pk, hank.pk]).update(last_launch_at=now - timedelta(days=1))

    quiz1 = Quiz.objects.create(
        context=course, title="Week 1: Cells", status="published", published_at=now - timedelta(days=24)
    )
    quiz2 = Quiz.objects.create(
        context=course, title="Week 2: Energy", status="published", published_at=now - timedelta(days=14)
    )
    Quiz.objects.create(context=course, title="Draft quiz", status="draft")
    question = Question.objects.create(
        quiz=quiz2, type="short", prompt="What do mitochondria produce?", answers=["ATP"], status="approved"
    )
    attempt_make(quiz1, steve.user, days_ago=22, fraction=0.25)
    attempt_make(quiz1, alice.user, days_ago=20, fraction=0.9)
    alice_attempt = attempt_make(quiz2, alice.user, days_ago=2, fraction=1.0)
    Answer.objects.create(attempt=alice_attempt, question=question, response="ATP", score=1, max_score=1)
    attempt_make(quiz1, hank.user, days_ago=20, fraction=0.8)
    hank_attempt = attempt_make(quiz2, hank.user, days_ago=3, fraction=0.75)
    Answer.objects.create(
        attempt=hank_attempt, question=question, response="energy", score=0.5, max_score=1, needs_review=True
    )

    deck = Deck.objects.create(
        context=course, title="Cell biology", status="published", published_at=now - timedelta(days=24)
    )
    card = Card.objects.create(
        deck=deck, front="Mitochondria make?", back="ATP", tags=["mitochondria"], status="approved"
    )
    for who in (alice, hank):
        review_make(card, who.user, days_ago=1, stability=20)

    other = course_make("https://moodle.example.org", "bio-101", "Other school's Biology")
    outsider = member(other, "s-out", "Olga Outsider", LEARNER)
    return World(course, teacher, steve, alice, hank, quiz1, quiz2, deck, other, outsider)


def get_as(membership: Membership, path: str) -> Any:
    return Client().get(path, {"launch": launch_keep(membership)})


def get(world: World, path: str, membership: Membership | None = None) -> Any:
    client, launch_id = world.client_of(membership or world.teacher)
    return client.get(path, {"launch": launch_id})


def post(world: World, path: str, data: dict[str, str], membership: Membership | None = None) -> Any:
    client, launch_id = world.client_of(membership or world.teacher)
    # As a browser posts a form (the launch id travels in the form body).
    body = urlencode({"launch": launch_id, **data})
    return client.post(path, body, content_type="application/x-www-form-urlencoded")


def rows_of(html: str) -> dict[str, str]:
    import re

    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'data-testid="risk-row" data-learner="(\d+)">(.*?)</tr>', html, re.S)
    }


def test_the_list_names_the_learner_who_stopped_coming_with_the_reasons_in_words(world):
    page = get(world, "/analytics/risk/")

    assert page.status_code == 200
    html = page.content.decode()
    rows = rows_of(html)
    assert list(rows) == [str(world.steve.user_id)], "only Steve is at risk"
    steve = rows[str(world.steve.user_id)]
    assert "Steve Stopped" in steve
    assert 'data-reason="inactive"' in steve and "No activity for 21 days" in steve
    assert 'data-reason="not_started"' in steve and "Week 2: Energy" in steve and "Cell biology" in steve
    assert "Week 1: Cells" not in steve.split('data-reason="not_started"')[1].split("</li>")[0]
    assert 'data-reason="low_scores"' in steve and "25%" in steve
    assert "Draft quiz" not in html
    assert "Olga" not in html and "Alice Active" not in html


def test_held_answers_and_low_recall_are_reasons_on_the_learners_page(world):
    page = get(world, f"/analytics/risk/learners/{world.hank.user_id}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-reason="held_for_review"' in html and "1 answer still held for your review" in html
    assert 'data-at-risk="false"' in html, "one held answer alone does not make a learner at risk"


def test_the_learner_page_joins_quiz_results_and_flashcard_recall_by_concept(world):
    page = get(world, f"/analytics/risk/learners/{world.alice.user_id}/")

    html = page.content.decode()
    assert page.status_code == 200
    concepts = html.split('data-testid="learner-concepts"')[1]
    row = concepts.split('data-testid="concept-row"')[1].split("</tr>")[0]
    assert "mitochondria" in row
    cells = [cell.strip() for cell in __import__("re").findall(r'<td class="num"[^>]*>(.*?)</td>', row)]
    # 1 answer naming the concept (full points), 1 card studied, recall high a day after a 20-day-stable review.
    assert cells[:3] == ["1", "100%", "1"]
    assert int(cells[3].rstrip("%")) >= 95 and int(cells[4].rstrip("%")) < int(cells[3].rstrip("%"))
    quizzes = html.split('data-testid="learner-quizzes"')[1]
    assert "Week 1: Cells" in quizzes and "90%" in quizzes and "Draft quiz" not in quizzes


def test_thresholds_are_stored_per_course_and_bad_input_changes_nothing(world):
    fields = {
        "window_days": "30",
        "inactive_days": "30",
        "score_drop": "15",
        "pass_mark": "50",
        "recall_floor": "60",
        "risk_threshold": "95",
    }
    saved = post(world, "/analytics/risk/settings/", fields)
    assert saved.status_code == 303 and "saved=1" in saved["Location"]
    stored = RiskSettings.objects.get(context=world.course)
    assert (stored.inactive_days, stored.risk_threshold, stored.pass_mark) == (30, 0.95, 0.5)
    assert AuditEvent.objects.filter(action="analytics.risk_settings_changed", object_id=str(world.course.pk)).exists()
    # A month's patience and a 95% bar: nobody is listed, and the page says what would appear.
    listed = get(world, "/analytics/risk/").content.decode()
    assert not rows_of(listed) and 'data-testid="risk-empty"' in listed

    before = RiskSettings.objects.get(context=world.course).updated_at
    refused = post(world, "/analytics/risk/settings/", {**fields, "inactive_days": "0", "pass_mark": "half"})
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "Nothing was changed" in html
    assert "Ensure this value is greater than or equal to 1." in html and "Enter a whole number." in html
    assert 'value="half"' in html, "the instructor's input is shown back to correct"
    after = RiskSettings.objects.get(context=world.course)
    assert (after.updated_at, after.inactive_days, after.pass_mark) == (before, 30, 0.5)
    missing = post(world, "/analytics/risk/settings/", {"window_days": "7"})
    assert missing.status_code == 400 and "This field is required." in missing.content.decode()


def test_out_of_reach_learners_answer_like_missing_ones_and_learners_get_no_staff_page(world):
    # A course of the same school (registration) the teacher does not teach, with a learner of its own.
    chem = Context.objects.create(
        registration=world.course.registration, deployment=world.course.deployment, context_id="chem", title="Chem"
    )
    chem_learner = member(chem, "s-chem", "Carl Chemist", LEARNER)

    missing = get(world, "/analytics/risk/learners/999999/")
    other_school = get(world, f"/analytics/risk/learners/{world.outsider.user_id}/")
    other_course = get(world, f"/analytics/risk/learners/{chem_learner.user_id}/")
    staff = get(world, f"/analytics/risk/learners/{world.teacher.user_id}/")

    assert missing.status_code == other_school.status_code == other_course.status_code == staff.status_code == 404
    assert "Carl" not in other_course.content.decode()
    assert "Olga" not in other_school.content.decode()
    assert other_school.content.decode().count("no such learner") == missing.content.decode().count("no such learner")
    for path in ("/analytics/risk/", f"/analytics/risk/learners/{world.steve.user_id}/", "/analytics/retention/"):
        assert get(world, path, world.alice).status_code == 403
    assert post(world, "/analytics/risk/check/", {}, world.alice).status_code == 403


def test_a_change_of_state_publishes_one_event_with_a_pseudonym_and_no_name(world):
    first = risk_services.course_risk_refresh(context=world.course)
    again = risk_services.course_risk_refresh(context=world.course)

    assert (first.learners, first.at_risk, first.went_at_risk, first.recovered) == (3, 1, 1, 0)
    assert (again.went_at_risk, again.recovered) == (0, 0), "no change, no event"
    events = list(DomainEvent.objects.filter(type__startswith="learner."))
    steve_id = pseudonym(registration_pk=world.course.registration_id, sub="s-steve")
    assert [(e.type, e.subject_id, e.context_pk) for e in events] == [("learner.at_risk", steve_id, world.course.pk)]
    assert events[0].data["learner"] == steve_id and "inactive" in events[0].data["reasons"]
    assert "Steve" not in str(events[0].data) and "s-steve" not in str(events[0].data)
    assert LearnerRisk.objects.filter(context=world.course).count() == 3

    # Steve comes back: attempts both quizzes well and studies the deck.
    attempt_make(world.quiz1, world.steve.user, days_ago=0.1, fraction=1.0, number=2)
    attempt_make(world.quiz2, world.steve.user, days_ago=0.1, fraction=1.0)
    review_make(Card.objects.get(deck=world.deck), world.steve.user, days_ago=0.1, stability=20)
    back = risk_services.course_risk_refresh(context=world.course)

    assert (back.at_risk, back.recovered) == (0, 1)
    recovered = DomainEvent.objects.get(type="learner.recovered")
    assert recovered.subject_id == steve_id and recovered.data["score"] < 0.45

    # Dropped from the course: no longer assessed, no longer listed anywhere, and no event of ours.
    Membership.objects.filter(pk=world.steve.pk).update(is_active=False)
    risk_services.course_risk_refresh(context=world.course)
    assert not LearnerRisk.objects.filter(user=world.steve.user).exists()
    assert DomainEvent.objects.filter(type__startswith="learner.").count() == 2


def test_an_advisors_subscription_in_reach_is_sent_the_event_and_one_out_of_reach_is_not(world):
    def subscribed(context: Context) -> Subscription:
        client, _ = api_services.api_client_create(
            name="Advisor", scopes=["webhooks:write"], created_by="test", all_contexts=False, context_pks=[context.pk]
        )
        return Subscription.objects.create(
            name="advisor", url="https://advisor.example.edu/hook", events=["learner.*"], api_client=client
        )

    ours, theirs = subscribed(world.course), subscribed(world.other)
    risk_services.course_risk_refresh(context=world.course)
    event = DomainEvent.objects.get(type="learner.at_risk")

    delivery.event_fan_out(event_pk=event.pk)

    # The other school's advisor subscribed to the same events hears nothing of this course.
    assert list(Delivery.objects.values_list("subscription_id", flat=True)) == [ours.pk] != [theirs.pk]
    body = delivery.payload(event).decode()
    assert "learner.at_risk" in body and "Steve" not in body and "s-steve" not in body


def test_the_refresh_runs_as_the_beats_task_and_on_demand(world, settings):
    assert settings.CELERY_BEAT_SCHEDULE["analytics-risk-refresh"]["task"] == "analytics.risk_refresh"
    from lti_config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        task_send("analytics.risk_refresh")
        assert LearnerRisk.objects.filter(context=world.course, at_risk=True).count() == 1
        asked = post(world, "/analytics/risk/check/", {})
    finally:
        app.conf.task_always_eager = before
    assert asked.status_code == 303 and "checked=queued" in asked["Location"]
    assert AuditEvent.objects.filter(action="analytics.risk_refresh_requested").count() == 1
    assert DomainEvent.objects.filter(type="learner.at_risk").count() == 1
    assert not LearnerRisk.objects.filter(context=world.other).exists(), "nothing published there to assess"


def api_client(scopes: list[str], contexts: list[Context]) -> APIClient:
    _client, token = api_services.api_client_create(
        name="Dashboard", scopes=scopes, created_by="test", all_contexts=False, context_pks=[x.pk for x in contexts]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_the_api_lists_learners_at_risk_in_reach_by_pseudonym(world):
    risk_services.course_risk_refresh(context=world.course)
    member(world.other, "s-other-2", "Otto Other", LEARNER)
    Quiz.objects.create(
        context=world.other, title="Q", status="published", published_at=timezone.now() - timedelta(days=20)
    )
    risk_services.course_risk_refresh(context=world.other)
    assert LearnerRisk.objects.filter(context=world.other, at_risk=True).exists()

    ours = api_client(["analytics:read"], [world.course]).get("/api/v1/analytics/at-risk")
    theirs = api_client(["analytics:read"], [world.other]).get(f"/api/v1/analytics/at-risk?course={world.course.pk}")
    everyone = api_client(["analytics:read"], [world.course]).get("/api/v1/analytics/at-risk?at_risk=false")
    unscoped = api_client(["roster:read"], [world.course]).get("/api/v1/analytics/at-risk")

    assert ours.status_code == 200, ours.content
    rows = ours.json()["results"]
    steve_id = pseudonym(registration_pk=world.course.registration_id, sub="s-steve")
    assert [(r["learner"], r["course"], r["at_risk"]) for r in rows] == [(steve_id, world.course.pk, True)]
    assert "inactive" in rows[0]["reasons"] and set(rows[0]) == {
        "learner",
        "course",
        "at_risk",
        "score",
        "reasons",
        "changed_at",
        "checked_at",
    }
    text = ours.content.decode()
    assert "Steve" not in text and "s-steve" not in text
    assert theirs.status_code == 200 and theirs.json()["results"] == []
    assert sorted(r["learner"] for r in everyone.json()["results"]) == sorted(
        pseudonym(registration_pk=world.course.registration_id, sub=s) for s in ("s-alice", "s-hank")
    )
    assert unscoped.status_code == 403
    bad = api_client(["analytics:read"], [world.course]).get("/api/v1/analytics/at-risk?at_risk=maybe")
    assert bad.status_code == 400 and "at_risk" in bad.content.decode()


def test_the_endpoint_is_in_the_openapi_schema(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/analytics/at-risk"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"course", "at_risk", "updated_since", "cursor"}
    assert settings.ROOT_URLCONF


def test_the_due_date_seam_and_the_words_of_a_falling_trend():
    now = timezone.now()
    opened = now - timedelta(days=20)
    joined_late = now - timedelta(days=3)
    with_due = risk_selectors.Published("quiz", 1, "Essay", opened, now - timedelta(days=1))
    without = risk_selectors.Published("quiz", 2, "Quiz", opened, None)

    # A due date wins over the window, even for a late joiner; without one the window runs from joining.
    assert risk_selectors.due_for(with_due, joined_at=joined_late, window_days=7) == now - timedelta(days=1)
    assert risk_selectors.due_for(without, joined_at=joined_late, window_days=7) == joined_late + timedelta(days=7)

    facts = LearnerFacts(now=now, joined_at=opened, last_activity_at=now, scores=[0.9, 0.8, 0.5, 0.4])
    result = assess(facts, Thresholds())
    falling = [r.text for r in result.reasons if r.code == "falling_scores"]
    assert falling == ["Quiz scores falling: from 85% to 45% on average."]
    steady = assess(LearnerFacts(now=now, joined_at=opened, last_activity_at=now, scores=[0.8, 0.85]), Thresholds())
    assert (steady.at_risk, steady.codes) == (False, [])


def test_course_recall_averages_each_concept_then_the_concepts_and_names_the_weakest(world):
    deck = Deck.objects.create(context=world.course, title="More", status="published")
    plan = [  # (tags, stability, learner): a two-tag card counts for both concepts
        (["osmosis", "membranes"], 2.0, world.steve),
        (["membranes"], 50.0, world.steve),
        (["mitosis"], 1.0, world.steve),
        (["krebs"], 30.0, world.steve),
        ([], 5.0, world.hank),
    ]
    for i, (tags, stability, who) in enumerate(plan):
        card = Card.objects.create(deck=deck, front=f"Front {i}", tags=tags, status="approved")
        review_make(card, who.user, days_ago=6.5, stability=stability)
    now = timezone.now()

    recall = risk_selectors.course_recall(context=world.course, now=now)

    arrays, r_now, _ = flashcard_selectors.course_predictions(context=world.course, now=now, days=0)
    r = {(int(lr), int(cd)): float(v) for lr, cd, v in zip(arrays.learner, arrays.card, r_now, strict=True)}
    cards = {c.front: c.pk for c in Card.objects.filter(deck=deck)}
    steve = world.steve.user_id
    concept = {
        "osmosis": r[(steve, cards["Front 0"])],
        "membranes": (r[(steve, cards["Front 0"])] + r[(steve, cards["Front 1"])]) / 2,
        "mitosis": r[(steve, cards["Front 2"])],
        "krebs": r[(steve, cards["Front 3"])],
    }
    assert recall.mean[steve] == pytest.approx(sum(concept.values()) / 4, abs=1e-12)
    assert recall.weakest[steve] == sorted(concept, key=concept.get)[:3] == ["mitosis", "osmosis", "membranes"]
    # Hank: the mitochondria card of the world and an untagged card, which stands for itself.
    assert recall.weakest[world.hank.user_id] == ["Front 4", "mitochondria"]


def test_the_list_costs_the_same_number_of_queries_whatever_the_number_of_learners(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        risk_selectors.risk_list(context=world.course)
    for i in range(5):
        more = member(world.course, f"s-more-{i}", f"More {i}", LEARNER)
        attempt_make(world.quiz1, more.user, days_ago=30, fraction=0.1)
    with CaptureQueriesContext(connection) as many:
        listed = risk_selectors.risk_list(context=world.course)

    assert len(listed.at_risk) == 6
    # 15 on SQLite; PostgreSQL reads the card states with COPY, which the query log does not list.
    assert len(many.captured_queries) == len(few.captured_queries) <= 15
