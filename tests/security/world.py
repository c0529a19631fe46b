"""Two tenants over real HTTP: tenant A's objects made through the product's own pages, tenant B's launches.

Tenant A is a Canvas-shaped registration and tenant B a Moodle-shaped one, each on its own sandbox
platform server, each registered with the tool. In A an instructor creates a quiz and a deck through
the tool's pages and embeds both by deep linking; a student takes the quiz (one submitted attempt with
an AI grade waiting for review, one open attempt with a saved answer) and reviews a flashcard; the
roster is synced; A's SIS client subscribes to webhooks; a score posting is refused by the platform
and dead-lettered. B gets an instructor (a resource-link and a deep-linking launch), a student, and
two API clients: one reaching B's registration, one reaching only B's course.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import requests
from django.apps import apps
from django.db import connection

from lms_tool.api import services as api_services
from lms_tool.api.scopes import SCOPES
from lms_tool.flashcards.models import Card, Deck
from lms_tool.grading import passback
from lms_tool.grading.models import PassbackState, Score
from lms_tool.lti.models import Context, LtiUser, Membership, Registration
from lms_tool.quizzes.models import Answer, Attempt, GenerationRun, Question, Quiz
from lms_tool.sandbox.platform import ROLE, Course, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer
from lms_tool.sandbox.services.deep_linking import deep_linking_log
from lms_tool.webhooks.models import Delivery, Subscription

from ..conftest import make_platform, registration_of
from ..quizzes.factories import course_text, make_quiz
from ..quizzes.flow import Seat, return_form, seat

# An id no row has: every request is also sent with it, and must be answered the same.
MISSING = 987_654_321


@dataclass
class Tenant:
    server: PlatformServer
    platform: Platform
    course: Course
    teacher: Person
    student: Person

    @property
    def registration(self) -> Registration:
        return registration_of(self.platform)

    @property
    def context(self) -> Context:
        return Context.objects.get(registration=self.registration, context_id=self.course.context_id)


@dataclass
class World:
    tool_url: str
    a: Tenant
    b: Tenant
    ids: dict[str, int | str]  # A's real ids, by name (quiz, deck, attempt_open...)
    secrets: list[str]  # strings only A's pages and rows show: never in an answer to B
    b_instructor: Seat
    b_instructor_dl: Seat
    b_student: Seat
    a_instructor: Seat  # A's own instructor in A's course 1: the control that the table can tell ids apart
    api: dict[str, str] = field(default_factory=dict)  # B's API tokens: "api-registration", "api-course"

    def missing_ids(self) -> dict[str, int | str]:
        return {k: (MISSING if isinstance(v, int) else f"no-such-{k}") for k, v in self.ids.items()}


def person(user_id: str, name: str, role: str) -> Person:
    first, last = name.split(" ", 1)
    return Person(user_id, name, f"{user_id}@{last.lower().replace(' ', '')}.example.edu", [ROLE + role], first, last)


def launch_id_of(response: requests.Response) -> str:
    return parse_qs(urlparse(response.url).query)["launch"][0]


def api_client(name: str, **reach: list[int]) -> str:
    _, token = api_services.api_client_create(name=name, scopes=sorted(SCOPES), created_by="secsuite", **reach)
    return token


def state() -> dict[str, tuple[int, object]]:
    """Every model's row count and newest ``updated_at``: what a refused request must leave as it was."""
    selects = []
    for model in apps.get_models():
        table = connection.ops.quote_name(model._meta.db_table)
        names = {f.column for f in model._meta.concrete_fields}
        # One column type for every table (PostgreSQL refuses to UNION a timestamp with a NULL text).
        newest = "CAST(MAX(updated_at) AS TEXT)" if "updated_at" in names else "CAST(NULL AS TEXT)"
        selects.append(f"SELECT '{model._meta.label}', COUNT(*), {newest} FROM {table}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects))
        return {label: (count, newest) for label, count, newest in cursor.fetchall()}


def _ok(response: requests.Response, what: str) -> requests.Response:
    assert response.status_code < 400, f"{what}: {response.status_code} {response.text[:800]}"
    return response


def build(tool_url: str) -> World:
    a_server, b_server = PlatformServer().start(), PlatformServer().start()
    a_platform = make_platform(a_server, tool_url, family="canvas", client_id="alpha-client")
    b_platform = make_platform(b_server, tool_url, family="moodle", client_id="bravo-client")
    a = Tenant(
        a_server,
        a_platform,
        a_platform.add_course("alpha-101", title="ALPHASECRET Biology"),
        person("alpha-teacher", "Alma Alphateacher", "Instructor"),
        person("alpha-student", "Zed Alphastudent", "Learner"),
    )
    b = Tenant(
        b_server,
        b_platform,
        b_platform.add_course("bravo-201", title="Bravo Chemistry"),
        person("bravo-teacher", "Bea Bravoteacher", "Instructor"),
        person("bravo-student", "Bo Bravostudent", "Learner"),
    )
    for tenant in (a, b):
        tenant.platform.enrol(tenant.course, tenant.teacher)
        tenant.platform.enrol(tenant.course, tenant.student)

    # A's instructor: a quiz and a deck through the tool's pages, embedded by deep linking.
    teacher = seat(a_platform, LaunchSpec(a.teacher, a.course, message_type="LtiDeepLinkingRequest"))
    s, lid = teacher.session, teacher.launch_id
    form = {
        "launch": lid,
        "title": "ALPHASECRET Heart quiz",
        "count": "2",
        "types": ["true_false", "free_text"],
        "difficulty": "medium",
        "max_attempts": "3",
        "text": course_text("heart.md"),
    }
    _ok(s.post(f"{tool_url}/quizzes/new/?pick=1", data=form, timeout=30), "quiz creation")
    quiz = Quiz.objects.get(title=form["title"])
    _ok(s.post(f"{tool_url}/quizzes/{quiz.pk}/approve-all/", data={"launch": lid}, timeout=10), "approve all")
    _ok(s.post(f"{tool_url}/quizzes/{quiz.pk}/publish/", data={"launch": lid}, timeout=10), "publish quiz")
    deck_form = {
        "launch": lid,
        "title": "ALPHASECRET Cells deck",
        "desired_retention": "0.9",
        "maximum_interval": "365",
        "learning_steps": "1m 10m",
        "relearning_steps": "10m",
        "new_cards_per_day": "20",
    }
    _ok(s.post(f"{tool_url}/flashcards/decks/", data=deck_form, timeout=10), "deck creation")
    deck = Deck.objects.get(title=deck_form["title"])
    card_form = {"launch": lid, "front": "ALPHASECRET What makes ATP?", "back": "Mitochondria", "tags": "cells"}
    _ok(s.post(f"{tool_url}/flashcards/decks/{deck.pk}/cards/new", data=card_form, timeout=10), "card")
    card = Card.objects.get(deck=deck)
    if card.status != Card.Status.APPROVED:
        s.post(
            f"{tool_url}/flashcards/decks/{deck.pk}/cards/review",
            data={"launch": lid, "action": "approve", "card": str(card.pk)},
            timeout=10,
        )
    _ok(
        s.post(f"{tool_url}/flashcards/decks/{deck.pk}/publish", data={"launch": lid, "action": "publish"}, timeout=10),
        "publish deck",
    )
    picked = _ok(
        s.post(
            f"{tool_url}/quizzes/pick/",
            data={"launch": lid, "item": [f"quiz:{quiz.pk}", f"deck:{deck.pk}"]},
            timeout=10,
        ),
        "pick",
    )
    action, fields = return_form(picked.text)
    _ok(s.post(action, data=fields, timeout=10), "deep-linking return")
    links = {link["custom"]["activity"]: link for link in deep_linking_log(a_platform).links}

    # A's student: a submitted attempt with a flagged AI grade, an open one with a saved answer.
    link = links[f"quiz:{quiz.pk}"]
    learner = seat(
        a_platform,
        LaunchSpec(
            a.student,
            a.course,
            resource_link_id=link["resource_link_id"],
            resource_link_title=link["title"],
            custom=link["custom"],
            lineitem_url=link["lineitem_url"],
        ),
    )
    ls, llid = learner.session, learner.launch_id
    _ok(ls.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": llid}, timeout=10), "start attempt")
    submitted = Attempt.objects.get(quiz=quiz)
    questions = {q.type: q for q in Question.objects.filter(pk__in=submitted.question_ids)}
    answers = {"launch": llid, f"q{questions['free_text'].pk}": "ALPHASECRET something vague about the heart."}
    _ok(ls.post(f"{tool_url}/quizzes/attempts/{submitted.pk}/submit/", data=answers, timeout=10), "submit")
    _ok(ls.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": llid}, timeout=10), "second attempt")
    open_attempt = Attempt.objects.filter(quiz=quiz, submitted_at__isnull=True).get()
    _ok(
        ls.post(
            f"{tool_url}/quizzes/attempts/{open_attempt.pk}/answer/",
            json={"question": questions["free_text"].pk, "response": "ALPHASECRET draft"},
            headers={"X-LTI-Launch": llid, "Accept": "application/json"},
            timeout=10,
        ),
        "autosave",
    )
    flagged = Answer.objects.get(attempt=submitted, needs_review=True)
    score = Score.objects.get(pk=Attempt.objects.get(pk=submitted.pk).score_ref)

    # A's student reviews a flashcard through the deck's link.
    deck_link = links[f"deck:{deck.pk}"]
    reviewer = seat(
        a_platform,
        LaunchSpec(
            a.student,
            a.course,
            resource_link_id=deck_link["resource_link_id"],
            resource_link_title=deck_link["title"],
            custom=deck_link["custom"],
            lineitem_url=deck_link["lineitem_url"],
        ),
    )
    page = _ok(reviewer.session.get(reviewer.landing, timeout=10), "review page")
    token = re.search(r'name="token" value="([^"]*)"', page.text)
    if token:
        _ok(
            reviewer.session.post(
                f"{tool_url}/flashcards/decks/{deck.pk}/review/rate",
                data={"launch": reviewer.launch_id, "token": token.group(1), "rating": "3", "duration_ms": "900"},
                timeout=10,
            ),
            "rate a card",
        )

    # A's roster, synced by the instructor's "Sync now" (tasks run eagerly while the world is built).
    course_teacher = seat(a_platform, LaunchSpec(a.teacher, a.course))
    _ok(
        course_teacher.session.post(f"{tool_url}/roster/sync/", data={"launch": course_teacher.launch_id}, timeout=10),
        "roster sync",
    )

    # A's SIS client subscribes to webhooks (deliveries follow the events above and below).
    a_token = api_client("Alpha SIS", registration_pks=[a.registration.pk])
    subscribed = _ok(
        requests.post(
            f"{tool_url}/api/v1/webhooks/subscriptions",
            json={"name": "ALPHASECRET hook", "url": "http://127.0.0.1:9/alpha-hook", "events": ["*"]},
            headers={"Authorization": f"Bearer {a_token}"},
            timeout=10,
        ),
        "webhook subscription",
    )
    subscription = Subscription.objects.get(pk=subscribed.json()["id"])

    # The platform refuses A's score: it becomes a dead letter.
    a_platform.faults["ags"] = [403, 403, 403, 403]
    passback.score_post(score_id=score.pk)
    a_platform.faults.pop("ags")
    score.refresh_from_db()
    assert score.passback_state in {PassbackState.FAILED, PassbackState.DEAD}, score.passback_state

    # One more event after the subscription exists, so a delivery is recorded for it.
    course_teacher.session.post(f"{tool_url}/roster/sync/", data={"launch": course_teacher.launch_id}, timeout=10)
    delivery = Delivery.objects.filter(subscription=subscription).first()
    assert delivery is not None, "no webhook delivery was recorded for tenant A's subscription"

    # A's second course in the same registration: the same student, an open attempt of a quiz there.
    course2 = a_platform.add_course("alpha-102", title="ALPHASECRET Anatomy", deployment_id="deployment-1")
    a_platform.enrol(course2, a.teacher)
    a_platform.enrol(course2, a.student)
    teacher2 = seat(a_platform, LaunchSpec(a.teacher, course2))
    quiz2 = make_quiz(teacher2, count=2, types=["true_false", "short"])  # type: ignore[arg-type]
    learner2 = seat(
        a_platform, LaunchSpec(a.student, course2, resource_link_id="rl-2", custom={"activity": f"quiz:{quiz2.pk}"})
    )
    _ok(
        learner2.session.post(f"{tool_url}/quizzes/{quiz2.pk}/take/", data={"launch": learner2.launch_id}, timeout=10),
        "course 2 attempt",
    )
    attempt2 = Attempt.objects.get(quiz=quiz2)

    a_context = a.context
    student_user = LtiUser.objects.get(registration=a.registration, sub=a.student.user_id)
    ids: dict[str, int | str] = {
        "registration": a.registration.pk,
        "context": a_context.pk,
        "context_id": a.course.context_id,
        "quiz": quiz.pk,
        "run": GenerationRun.objects.filter(quiz=quiz).values_list("pk", flat=True).first() or MISSING,
        "question": questions["free_text"].pk,
        "answer": flagged.pk,
        "attempt_open": open_attempt.pk,
        "attempt_submitted": submitted.pk,
        "deck": deck.pk,
        "card": card.pk,
        "student_user": student_user.pk,
        "teacher_user": LtiUser.objects.get(registration=a.registration, sub=a.teacher.user_id).pk,
        "student_sub": a.student.user_id,
        "membership": Membership.objects.get(context=a_context, user=student_user).pk,
        "score": score.pk,
        "subscription": subscription.pk,
        "delivery": delivery.pk,
        "context2": teacher2.context.pk,
        "quiz2": quiz2.pk,
        "attempt_course2": attempt2.pk,
    }

    b_instructor = seat(b_platform, LaunchSpec(b.teacher, b.course))
    b_instructor_dl = seat(b_platform, LaunchSpec(b.teacher, b.course, message_type="LtiDeepLinkingRequest"))
    b_student = seat(b_platform, LaunchSpec(b.student, b.course))
    world = World(
        tool_url=tool_url,
        a=a,
        b=b,
        ids=ids,
        secrets=["ALPHASECRET", "Alphastudent", "Alphateacher", "alpha-student@", "alpha-101"],
        b_instructor=b_instructor,
        b_instructor_dl=b_instructor_dl,
        b_student=b_student,
        a_instructor=course_teacher,
    )
    world.api["api-registration"] = api_client("Bravo SIS", registration_pks=[b.registration.pk])
    world.api["api-course"] = api_client("Bravo course tool", context_pks=[b.context.pk])
    return world
