"""/healthz/detail: what waits, what is dead, how fresh scores and rosters are — for tool administrators only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from lms_tool.flashcards.models import Deck, DeckGeneration
from lms_tool.grading import services as grading
from lms_tool.grading.models import Score
from lms_tool.lti.models import LtiUser
from lms_tool.quizzes.models import GenerationRun
from lms_tool.roster.models import RosterSync
from lms_tool.sandbox.platform import LaunchSpec

from ..quizzes.factories import make_course, make_quiz
from ..quizzes.flow import seat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox_only(settings):  # type: ignore[no-untyped-def]
    settings.GRADING_PASSBACK_ENABLED = False  # scores stay in the outbox: the test sets their fate
    settings.AI = {"BASE_URL": "", "MODEL": ""}


def _scores(course, n: int) -> list[Score]:  # type: ignore[no-untyped-def]
    """One score each for ``n`` learners (a learner's newer score supersedes a pending older one)."""
    learners = [
        LtiUser.objects.create(registration=course.registration, sub=f"learner-{i}", name=f"L{i}") for i in range(n)
    ]
    return [
        grading.score_submit(user=learner, resource_link=course.link, score_given=5, score_maximum=10)
        for learner in learners
    ]


def test_a_tool_administrator_sees_each_figure(admin_client):
    course = make_course()
    other = make_course(suffix="-2")
    posted, pending, dead = _scores(course, 3)
    now = timezone.now()
    Score.objects.filter(pk=posted.pk).update(passback_state="posted", posted_at=now - timedelta(minutes=5))
    Score.objects.filter(pk=pending.pk).update(created_at=now - timedelta(minutes=10))
    Score.objects.filter(pk=dead.pk).update(passback_state="dead")
    RosterSync.objects.create(context=course.context, status="ok", last_success_at=now - timedelta(hours=3))
    RosterSync.objects.create(context=other.context, status="failed")
    quiz = make_quiz(course, count=2)
    stuck = GenerationRun.objects.create(quiz=quiz, count=2, types=["single"], state="running")
    GenerationRun.objects.filter(pk=stuck.pk).update(created_at=now - timedelta(hours=1))
    GenerationRun.objects.create(quiz=quiz, count=2, types=["single"])  # queued just now
    deck = Deck.objects.create(context=course.context, title="Heart")
    DeckGeneration.objects.create(deck=deck, text="text", count=3)

    response = admin_client.get("/healthz/detail?format=json")

    assert response.status_code == 200
    detail = response.json()
    passback = next(q for q in detail["queues"] if q["queue"] == "passback")
    scores_waiting = next(w for w in passback["waiting"] if w["what"] == "scores to post")
    assert scores_waiting["count"] == 1 and scores_waiting["oldest_age_seconds"] >= 600
    assert detail["dead_letters"] == {"scores": 1, "webhook_deliveries": 0}
    by_id = {r["id"]: r for r in detail["registrations"]}
    mine = by_id[course.registration.pk]
    assert (mine["scores_pending"], mine["dead_letters"], mine["scores_posted"]) == (1, 1, 1)
    assert 290 <= mine["last_score_posted_age_seconds"] <= 400
    assert 3 * 3600 - 10 <= mine["oldest_roster_sync_age_seconds"] <= 3 * 3600 + 60
    theirs = by_id[other.registration.pk]
    assert (theirs["rosters"], theirs["rosters_failing"], theirs["last_score_posted_at"]) == (1, 1, None)
    assert detail["generations"]["quizzes"] == {"queued": 1, "running": 1, "stuck": 1}
    assert detail["generations"]["flashcards"] == {"queued": 1, "running": 0, "stuck": 0}
    assert detail["status"] == "attention"
    assert "1 score(s) dead-lettered" in detail["problems"]


def test_the_page_for_people_shows_the_same_figures(admin_client):
    course = make_course()
    Score.objects.filter(pk=_scores(course, 1)[0].pk).update(passback_state="dead")

    response = admin_client.get("/healthz/detail")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Needs attention" in page and "1 score(s) dead-lettered" in page
    assert course.registration.issuer in page


def test_it_refuses_anonymous_visitors_with_the_admin_login(client):
    response = client.get("/healthz/detail?format=json")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_refuses_a_django_user_who_is_not_staff(client, django_user_model):
    user = django_user_model.objects.create_user(username="teacher", password="x-long-password-1")
    client.force_login(user)

    response = client.get("/healthz/detail?format=json")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_refuses_course_staff_even_with_their_launch(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))

    for response in (
        teacher.session.get(f"{tool_url}/healthz/detail?format=json&launch={teacher.launch_id}", allow_redirects=False),
        requests.get(
            f"{tool_url}/healthz/detail", headers={"X-Launch-Id": teacher.launch_id}, allow_redirects=False, timeout=10
        ),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login/")
