"""Done when: a quiz attempt and a flashcard session in the sandbox appear as valid statements in a
running Ralph LRS. Real launches from the sandbox platform, the tool's pages over HTTP, the send task
after commit, and the statements read back from Ralph."""

from __future__ import annotations

import re

import pytest

from lms_tool.quizzes.models import Attempt, Question
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.xapi.models import Statement, StatementState

from ..celery_worker import wait_for
from ..conftest import registration_of
from ..flashcards.factories import CardFactory, DeckFactory
from ..quizzes.factories import make_quiz
from ..quizzes.flow import seat
from .conftest import lrs_connect

pytestmark = pytest.mark.usefixtures("eager")
ADL = "http://adlnet.gov/expapi/verbs/"


def test_a_quiz_attempt_and_a_flashcard_session_in_the_sandbox_reach_ralph(
    canvas, course, instructor, student, tool_url, ralph
):
    endpoint = lrs_connect(registration_of(canvas), ralph.url)
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=2, types=["true_false"])  # type: ignore[arg-type]
    deck = DeckFactory(context=teacher.context, title="Cells")
    for front in ("What is ATP?", "What is a ribosome?"):
        CardFactory(deck=deck, front=front)

    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    s, launch_id = learner.session, learner.launch_id
    s.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": launch_id}, timeout=10)
    attempt = Attempt.objects.get(quiz=quiz)
    answers = {f"q{q.pk}": str(q.correct[0]) for q in Question.objects.filter(pk__in=attempt.question_ids)}
    result = s.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/", data={"launch": launch_id, **answers}, timeout=10
    )
    assert result.status_code == 200
    for rating in ("3", "4"):
        page = s.get(f"{tool_url}/flashcards/decks/{deck.pk}/review/", params={"launch": launch_id}, timeout=10)
        token = re.search(r'name="token" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
        rated = s.post(
            f"{tool_url}/flashcards/decks/{deck.pk}/review/rate",
            data={"launch": launch_id, "token": token, "rating": rating, "duration_ms": "3000"},
            allow_redirects=False,
            timeout=10,
        )
        assert rated.status_code == 303

    rows = Statement.objects.filter(endpoint=endpoint)
    assert wait_for(lambda: not rows.exclude(state=StatementState.SENT).exists(), 20), list(
        rows.values_list("verb", "state", "last_error")
    )
    ids = [str(i) for i in rows.order_by("pk").values_list("statement_id", flat=True)]
    stored = ralph.statements(ids)
    assert [s["id"] for s in stored] == ids
    assert ralph.validate(stored) == {}
    mine = [s for s in stored if s["actor"]["account"]["name"] == student.user_id]
    assert all(s["actor"]["account"]["homePage"] == canvas.issuer for s in stored)
    assert [s["verb"]["id"].removeprefix(ADL) for s in mine] == [
        "launched",
        "attempted",
        "answered",
        "answered",
        "completed",
        "passed",
        "answered",
        "progressed",
        "answered",
        "progressed",
        "completed",
    ]
    assert [s["verb"]["id"].removeprefix(ADL) for s in stored if s not in mine] == ["launched"]  # the instructor
    launched = mine[0]
    assert launched["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/link"
    context_claim = launched["context"]["extensions"]["https://purl.imsglobal.org/spec/lti/claim/context"]
    assert context_claim["id"] == course.context_id
    assert mine[5]["result"]["score"]["scaled"] == 1.0
    assert mine[6]["result"]["response"] == "good" and mine[8]["result"]["response"] == "easy"
