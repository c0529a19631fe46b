"""The quiz pages over HTTP with a real launch: create, review, publish; take with autosave; review queue."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lms_tool.core.models import AuditEvent
from lms_tool.lti.models import LtiUser, ResourceLink
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from .factories import course_text, make_quiz
from .flow import return_form, seat
from .pdf import pdf_with_text

pytestmark = pytest.mark.usefixtures("eager")


def test_an_instructor_creates_reviews_and_publishes_a_quiz_from_an_upload(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    form = {
        "launch": teacher.launch_id,
        "title": "Printing",
        "count": "5",
        "types": ["single", "true_false"],
        "difficulty": "medium",
        "max_attempts": "2",
    }

    created = teacher.session.post(
        f"{tool_url}/quizzes/new/?pick=1&launch={teacher.launch_id}",
        data=form,
        timeout=30,
        files={"upload": ("printing.md", course_text("printing.md").encode())},
    )

    assert created.status_code == 200 and 'data-view="quiz-manage"' in created.text, created.text[:500]
    quiz = Quiz.objects.get(title="Printing")
    assert quiz.source_name == "printing.md" and quiz.max_attempts == 2
    assert "Done: 5 questions written" in created.text
    assert created.text.count('data-testid="question"') == 5 and "5 to review" in created.text
    run = quiz.generation_runs.get()
    status = teacher.session.get(
        f"{tool_url}/quizzes/{quiz.pk}/runs/{run.pk}/", params={"launch": teacher.launch_id}, timeout=10
    ).json()
    # "rejected" counts the drafts the quality gate held back too (docs/generation.md).
    assert status == {
        "state": "done",
        "percent": 100,
        "created": 5,
        "rejected": len(run.rejected),
        "error": "",
        "finished": True,
    }

    refused = teacher.session.post(
        f"{tool_url}/quizzes/{quiz.pk}/publish/", data={"launch": teacher.launch_id}, timeout=10
    )
    assert refused.status_code == 400 and "5 questions still need your review" in refused.text
    teacher.session.post(f"{tool_url}/quizzes/{quiz.pk}/approve-all/", data={"launch": teacher.launch_id}, timeout=10)
    published = teacher.session.post(
        f"{tool_url}/quizzes/{quiz.pk}/publish/", data={"launch": teacher.launch_id, "pick": "1"}, timeout=10
    )

    # Publish and add to course is one step: the answer is the signed response, posted on to the platform.
    action, fields = return_form(published.text)
    teacher.session.post(action, data=fields, timeout=10)
    assert Quiz.objects.get(pk=quiz.pk).is_published
    assert [item["custom"]["activity"] for item in deep_linking_log(canvas).responses[0]["items"]] == [
        f"quiz:{quiz.pk}"
    ]


def test_a_pdf_upload_becomes_questions(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    lines = [s.strip() + "." for s in course_text("water_cycle.md").replace("\n", " ").split(". ") if s.strip()][2:14]
    form = {
        "launch": teacher.launch_id,
        "title": "Water",
        "count": "3",
        "types": ["short"],
        "difficulty": "easy",
        "max_attempts": "1",
    }

    # A multipart form carries the launch in its action URL (the middleware reads urlencoded bodies only).
    created = teacher.session.post(
        f"{tool_url}/quizzes/new/?launch={teacher.launch_id}",
        data=form,
        timeout=30,
        files={"upload": ("water.pdf", pdf_with_text(lines))},
    )

    assert created.status_code == 200, created.text[:500]
    assert Quiz.objects.get(title="Water").questions.count() == 3


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"count": "500"}, 400, "Ask for at most 50 questions."),
        ({"text": "", "count": "3"}, 400, "Paste the course text or upload a file."),
        ({"text": "Too short to ask anything.", "count": "3"}, 400, "too little text"),
        ({"types": [], "count": "3"}, 400, "This field is required."),
    ],
)
def test_bad_creation_input_gets_a_clear_message(canvas, course, instructor, tool_url, form, status, message):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    data = {
        "launch": teacher.launch_id,
        "title": "T",
        "types": ["single"],
        "difficulty": "medium",
        "max_attempts": "1",
        "text": course_text(),
        **form,
    }

    response = teacher.session.post(f"{tool_url}/quizzes/new/", data=data, timeout=10)

    assert response.status_code == status and message in response.text
    assert not Quiz.objects.exists()


def test_an_upload_over_the_limit_is_refused_with_413(canvas, course, instructor, tool_url, settings):
    settings.QUIZZES = {**settings.QUIZZES, "MAX_UPLOAD_BYTES": 10_000}
    teacher = seat(canvas, LaunchSpec(instructor, course))
    data = {
        "launch": teacher.launch_id,
        "title": "T",
        "types": ["single"],
        "difficulty": "medium",
        "max_attempts": "1",
        "count": "3",
    }

    response = teacher.session.post(
        f"{tool_url}/quizzes/new/?launch={teacher.launch_id}",
        data=data,
        timeout=10,
        files={"upload": ("big.md", b"word " * 5000)},
    )

    assert response.status_code == 413 and "the limit is 10 KB" in response.text


def test_an_instructor_edits_a_question_and_a_bad_edit_is_explained(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=1, types=["single"], publish=False)
    question = quiz.questions.get()
    url = f"{tool_url}/quizzes/{quiz.pk}/questions/{question.pk}/edit/"
    form = {
        "launch": teacher.launch_id,
        "prompt": "Which organ pumps blood?",
        "options": "heart\nlung\nliver",
        "points": "2",
        "correct": "4",
    }

    bad = teacher.session.post(url, data=form, timeout=10)
    good = teacher.session.post(url, data={**form, "correct": "1"}, timeout=10)

    assert bad.status_code == 400 and "answer index 3 is out of range (3 options)" in bad.text
    assert good.status_code == 200 and 'data-view="quiz-manage"' in good.text
    question.refresh_from_db()
    assert question.correct == [0] and question.points == 2 and question.status == "approved"


def test_a_student_answers_with_autosave_resumes_and_sees_awaiting_review(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=2, types=["true_false", "free_text"])
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    s, launch_id = learner.session, learner.launch_id
    s.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": launch_id}, timeout=10)
    attempt = Attempt.objects.get(quiz=quiz)
    questions = {q.type: q for q in Question.objects.filter(pk__in=attempt.question_ids)}
    autosave = f"{tool_url}/quizzes/attempts/{attempt.pk}/answer/"
    headers = {"X-LTI-Launch": launch_id, "Accept": "application/json"}

    saved = s.post(
        autosave,
        json={"question": questions["free_text"].pk, "response": "Something vague."},
        headers=headers,
        timeout=10,
    )
    bad = s.post(autosave, json={"question": questions["true_false"].pk, "response": [5]}, headers=headers, timeout=10)
    garbled = s.post(autosave, data=b"not json", headers={**headers, "Content-Type": "application/json"}, timeout=10)
    resumed = s.get(f"{tool_url}/quizzes/attempts/{attempt.pk}/", params={"launch": launch_id}, timeout=10)

    assert saved.status_code == 200 and saved.json()["saved"] is True
    assert bad.status_code == 400 and bad.json()["message"] == "Choose one of the options shown."
    assert bad.json()["code"] == "bad_request"
    assert garbled.status_code == 400
    assert "Something vague." in resumed.text
    truth = questions["true_false"]
    submit = f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/"
    result = s.post(submit, data={"launch": launch_id, f"q{truth.pk}": str(truth.correct[0])}, timeout=10)
    again = s.post(submit, data={"launch": launch_id}, timeout=10)

    assert 'data-testid="awaiting-review"' in result.text and "awaiting instructor review" in result.text
    assert again.status_code == 200 and Attempt.objects.filter(quiz=quiz).count() == 1
    late = s.post(autosave, json={"question": truth.pk, "response": [0]}, headers=headers, timeout=10)
    assert late.status_code == 409

    queue = teacher.session.get(f"{tool_url}/quizzes/review/", params={"launch": teacher.launch_id}, timeout=10)
    assert "Something vague." in queue.text and "confidence" in queue.text
    flagged = Answer.objects.get(attempt=attempt, needs_review=True)
    wrong = teacher.session.post(
        f"{tool_url}/quizzes/review/{flagged.pk}/", data={"launch": teacher.launch_id, "score": "3"}, timeout=10
    )
    done = teacher.session.post(
        f"{tool_url}/quizzes/review/{flagged.pk}/",
        data={"launch": teacher.launch_id, "score": "0.5", "feedback": "Be precise."},
        timeout=10,
    )
    assert wrong.status_code == 400 and "between 0 and 1" in wrong.text
    assert 'data-testid="review-empty"' in done.text
    after = s.get(f"{tool_url}/quizzes/attempts/{attempt.pk}/result/", params={"launch": launch_id}, timeout=10)
    assert "awaiting-review" not in after.text
    assert "Be precise." in after.text and "1.50 / 2" in after.text


def test_a_learners_start_reads_neither_their_person_nor_their_link_again(
    canvas, course, instructor, student, tool_url
):
    """The page's scope check found the person and the course; the launch recorded its link under that course."""
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=2, types=["single"])
    spec = LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"})
    learner = seat(canvas, spec)

    with CaptureQueriesContext(connection) as queries:  # in process, so that its statements can be seen
        started = Client().post(f"/quizzes/{quiz.pk}/take/", headers={"X-LTI-Launch": learner.launch_id})

    assert started.status_code == 303, started.content[:300]
    attempt = Attempt.objects.select_related("user", "resource_link").get(quiz=quiz)
    assert started["Location"].startswith(f"/quizzes/attempts/{attempt.pk}/")
    assert attempt.user.sub == student.user_id and attempt.user.registration_id == quiz.context.registration_id
    link = attempt.resource_link
    assert link is not None and link.context_id == quiz.context_id and link.resource_link_id == spec.resource_link_id
    read = [q["sql"].replace('"', "") for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in (LtiUser._meta.db_table, ResourceLink._meta.db_table):
        assert not [sql for sql in read if f"FROM {table} " in sql], table


def test_an_autosave_reads_its_attempt_and_question_in_one_statement_and_refuses_a_question_not_in_it(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=2, types=["single"])
    other = make_quiz(teacher, count=1, types=["single"])
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    client, headers = Client(), {"X-LTI-Launch": learner.launch_id, "Accept": "application/json"}
    client.post(f"/quizzes/{quiz.pk}/take/", headers=headers)
    attempt = Attempt.objects.get(quiz=quiz)
    url = f"/quizzes/attempts/{attempt.pk}/answer/"

    def autosave(question_id: int) -> Any:
        body = {"question": question_id, "response": [1]}
        return client.post(url, body, content_type="application/json", headers=headers)

    with CaptureQueriesContext(connection) as queries:
        saved = autosave(attempt.question_ids[0])
    # Read before the next request: each one clears the connection's log of queries.
    read = [q["sql"].replace('"', "") for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    foreign = autosave(other.questions.get().pk)
    absurd = autosave(2**70)
    endless = client.post(url, '{"question": Infinity}', content_type="application/json", headers=headers)

    assert saved.status_code == 200 and saved.json()["saved"] is True
    assert Answer.objects.get(attempt=attempt, question_id=attempt.question_ids[0]).response == [1]
    question_reads = [sql for sql in read if f"{Question._meta.db_table} " in sql]
    assert len(question_reads) == 1 and f"FROM {Attempt._meta.db_table} a " in question_reads[0], read
    for refused in (foreign, absurd):
        assert refused.status_code == 404 and "not part of this attempt" in refused.json()["message"]
    assert endless.status_code == 400 and endless.json()["code"] == "bad_request"
    assert Answer.objects.filter(attempt=attempt).count() == 1


def test_a_student_cannot_open_another_courses_quiz(canvas, course, instructor, student, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=1)
    other = canvas.add_course("course-999", title="Other")
    canvas.enrol(other, student)
    learner = seat(canvas, LaunchSpec(student, other))

    response = learner.session.get(
        f"{tool_url}/quizzes/{quiz.pk}/take/", params={"launch": learner.launch_id}, timeout=10
    )

    assert response.status_code == 404


def test_pages_refuse_requests_without_a_launch(tool_url, db):  # type: ignore[no-untyped-def]
    import requests

    response = requests.post(f"{tool_url}/quizzes/attempts/1/submit/", timeout=10)

    assert response.status_code == 401


def test_a_submit_writes_its_own_audit_line_and_its_scores_in_one_statement(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=2, types=["single"])
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    client, headers = Client(), {"X-LTI-Launch": learner.launch_id, "Accept": "application/json"}
    client.post(f"/quizzes/{quiz.pk}/take/", headers=headers)
    attempt = Attempt.objects.get(quiz=quiz)
    form = urlencode({f"q{q}": "1" for q in attempt.question_ids})

    with CaptureQueriesContext(connection) as queries:
        submitted = client.post(
            f"/quizzes/attempts/{attempt.pk}/submit/",
            form,
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
    audit_inserts = [
        q for q in queries.captured_queries if q["sql"].startswith(f'INSERT INTO "{AuditEvent._meta.db_table}"')
    ]

    assert submitted.status_code == 200, submitted.content[:300]
    attempt.refresh_from_db()
    assert attempt.state == Attempt.State.SUBMITTED and attempt.score_ref is not None
    lines = {
        line.action: line for line in AuditEvent.objects.filter(action__in=["quiz.attempt.submit", "score.submitted"])
    }
    assert set(lines) == {"quiz.attempt.submit", "score.submitted"}
    assert lines["quiz.attempt.submit"].object_id == str(attempt.pk)
    assert lines["score.submitted"].object_id == str(attempt.score_ref)
    assert len(audit_inserts) == 1, [q["sql"][:80] for q in queries.captured_queries]
