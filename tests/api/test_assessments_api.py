"""Quizzes, decks and submitted attempts, within the client's reach."""

from __future__ import annotations

import pytest
from django.utils import timezone

from lms_tool.flashcards.models import Deck
from lms_tool.quizzes.models import Attempt, Quiz

from .conftest import enrol

pytestmark = pytest.mark.django_db


def test_quizzes_and_decks_of_reachable_courses(make_api, bio, chem):  # type: ignore[no-untyped-def]
    quiz = Quiz.objects.create(context=bio, title="Cells", source_text="secret course text")
    Quiz.objects.create(context=chem, title="Bonds")
    deck = Deck.objects.create(context=bio, title="Organelles")
    api = make_api(["assessments:read"], contexts=[bio])
    quizzes = api.get("/api/v1/quizzes").json()["results"]
    assert [q["title"] for q in quizzes] == ["Cells"]
    assert "source_text" not in quizzes[0]
    assert api.get(f"/api/v1/quizzes/{quiz.pk}").json()["course"] == bio.pk
    assert [d["id"] for d in api.get("/api/v1/decks").json()["results"]] == [deck.pk]
    assert api.get(f"/api/v1/decks/{deck.pk}").status_code == 200


def test_attempts_list_submitted_ones_in_submission_order(make_api, bio):  # type: ignore[no-untyped-def]
    quiz = Quiz.objects.create(context=bio, title="Cells")
    user = enrol(bio, "s1").user
    Attempt.objects.create(quiz=quiz, user=user, number=1, quiz_version=1)  # still open
    done = Attempt.objects.create(
        quiz=quiz,
        user=user,
        number=2,
        quiz_version=1,
        state="submitted",
        submitted_at=timezone.now(),
        score=3,
        score_maximum=4,
    )
    Attempt.objects.create(
        quiz=quiz, user=user, number=3, quiz_version=1, state="submitted", submitted_at=timezone.now(), is_preview=True
    )
    api = make_api(["attempts:read"])
    rows = api.get(f"/api/v1/attempts?quiz={quiz.pk}").json()["results"]
    assert [r["id"] for r in rows] == [done.pk]
    assert rows[0]["score"] == 3 and rows[0]["user_sub"] == "s1"
    assert api.get("/api/v1/attempts?updated_since=2999-01-01T00:00:00Z").json()["results"] == []


def test_assessment_reads_need_their_scope(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    for url in ("quizzes", "decks", "attempts", "scores", "review-items", "dead-letters", "audit-events", "events"):
        assert api.get(f"/api/v1/{url}").status_code == 403, url
