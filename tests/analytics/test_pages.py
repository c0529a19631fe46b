"""The instructor's pages over HTTP with real launches: course home figures, results (filters, chart, CSV),
item analysis, preview as a student, the regrade action; and who may not see them."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from lms_tool.core.models import AuditEvent
from lms_tool.grading.models import PassbackState, Score
from lms_tool.lti.models import ResourceLink
from lms_tool.quizzes.models import Attempt, Question, Quiz
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person

from ..quizzes.flow import Seat, seat
from .builders import learner, quiz_with, take, worked_example, wrong_key_quiz

pytestmark = pytest.mark.django_db(transaction=True)


def _get(who: Seat, tool_url: str, path: str, **params: str):  # type: ignore[no-untyped-def]
    return who.session.get(f"{tool_url}{path}", params={"launch": who.launch_id, **params}, timeout=15)


@pytest.fixture
def teacher(canvas, course, instructor) -> Seat:  # type: ignore[no-untyped-def]
    return seat(canvas, LaunchSpec(instructor, course))


@pytest.fixture
def worked(teacher) -> Quiz:  # type: ignore[no-untyped-def]
    link = ResourceLink.objects.get(pk=teacher.lti.resource_link_pk)
    return worked_example(teacher.context, link)


def test_the_course_home_shows_every_activity_with_its_figures_and_what_needs_attention(teacher, worked, tool_url):
    quiz_with(teacher.context, [{"type": "short", "answers": ["x"]}], title="Orphan")
    draft = quiz_with(teacher.context, [{"type": "short", "answers": ["x"]}], title="Unfinished draft")
    Quiz.objects.filter(pk=draft.pk).update(status=Quiz.Status.DRAFT)
    Question.objects.filter(quiz=draft).update(status=Question.Status.DRAFT)
    dead = Score.objects.filter(pk=Attempt.objects.filter(quiz=worked).first().score_ref)  # type: ignore[union-attr]
    dead.update(passback_state=PassbackState.DEAD)

    page = _get(teacher, tool_url, "/lti/course/")

    assert page.status_code == 200
    text = page.text
    assert 'data-testid="home-overview"' in text and text.count('data-testid="overview-row"') == 3
    assert 'data-kind="quiz" data-state="in_course"' in text  # its attempts came through a link of the course
    assert 'data-kind="quiz" data-state="published"' in text  # Orphan: published, no link opens it
    assert "The quiz \u201cOrphan\u201d is published but no link in the course opens it yet." in text
    assert 'data-kind="quiz" data-state="draft"' in text
    assert "50.0%" in text  # six attempts: (3 + 2 + 2 + 1 + 1 + 0) / 18
    assert "1 score of the quiz \u201cWorked example\u201d did not reach the gradebook" in text
    assert "1 generated question in \u201cUnfinished draft\u201d need your approval" in text
    # Broken things first: the dead letter before the approvals.
    assert text.index("did not reach the gradebook") < text.index("need your approval")
    assert f"/analytics/quizzes/{worked.pk}/results/" in text


def test_results_filter_chart_and_a_formula_safe_csv(teacher, worked, tool_url):
    link = ResourceLink.objects.get(pk=teacher.lti.resource_link_pk)
    take(worked, learner(teacher.context, '=HYPERLINK("http://x")'), link, [0, 0, "ribosome"])
    take(worked, learner(teacher.context, "@SUM(A1)"), link, [1, 1, "no"])

    page = _get(teacher, tool_url, f"/analytics/quizzes/{worked.pk}/results/")
    assert page.status_code == 200 and 'data-view="quiz-results"' in page.text
    assert page.text.count('data-testid="result-row"') == 8
    assert 'data-testid="distribution-chart"' in page.text and 'data-testid="distribution-table"' in page.text
    assert "Waiting to be posted" in page.text

    filtered = _get(teacher, tool_url, f"/analytics/quizzes/{worked.pk}/results/", low="60", name="N")
    # Best >= 60% and "n" in the name (any case): Ann, "=HYPERLINK" (100%), Ben (66.7%); not Fin (0%) nor Cai.
    assert filtered.text.count('data-testid="result-row"') == 3, filtered.text
    refused = _get(teacher, tool_url, f"/analytics/quizzes/{worked.pk}/results/", low="lots")
    assert refused.status_code == 400 and "percentage between 0 and 100" in refused.text

    export = _get(teacher, tool_url, f"/analytics/quizzes/{worked.pk}/results.csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names and "'@SUM(A1)" in names
    assert not any(cell[:1] in "=+-@\t\r" for row in rows for cell in row if cell)


def test_item_analysis_page_and_preview_create_nothing(teacher, worked, tool_url):
    attempts = Attempt.objects.count()
    scores = Score.objects.count()

    items = _get(teacher, tool_url, f"/analytics/quizzes/{worked.pk}/items/")
    preview = _get(teacher, tool_url, f"/analytics/quizzes/{worked.pk}/preview/")

    assert items.status_code == 200 and items.text.count('data-testid="item"') == 3
    assert 'data-testid="facility">67%' in items.text and "0.34" in items.text
    assert preview.status_code == 200 and preview.text.count('data-testid="preview-question"') == 3
    assert "Mitochondria" in preview.text and "keyed correct" not in preview.text
    assert Attempt.objects.count() == attempts and Score.objects.count() == scores


def test_out_of_reach_quizzes_answer_like_missing_and_learners_are_refused(
    canvas, platform_server, course, teacher, worked, student, tool_url
):
    other_course = canvas.add_course("course-202", title="Chemistry")
    other_teacher = Person("instructor-2", "Bo Teacher", "bo@example.edu", [ROLE + "Instructor"], "Bo", "Teacher")
    canvas.enrol(other_course, other_teacher)
    elsewhere = seat(canvas, LaunchSpec(other_teacher, other_course))
    pupil = seat(canvas, LaunchSpec(student, course))
    paths = ["results/", "results.csv", "items/", "preview/"]

    for path in paths:
        theirs = _get(elsewhere, tool_url, f"/analytics/quizzes/{worked.pk}/{path}")
        missing = _get(elsewhere, tool_url, f"/analytics/quizzes/999999/{path}")
        assert theirs.status_code == missing.status_code == 404, path
        assert "Worked example" not in theirs.text
        assert _get(pupil, tool_url, f"/analytics/quizzes/{worked.pk}/{path}").status_code == 403
    home = _get(elsewhere, tool_url, "/lti/course/")
    assert "Worked example" not in home.text and 'data-testid="attention-empty"' in home.text


def test_a_key_fixed_from_the_flag_comes_back_to_the_flags_and_the_regrade_reposts(teacher, tool_url):
    link = ResourceLink.objects.get(pk=teacher.lti.resource_link_pk)
    quiz = wrong_key_quiz(teacher.context, link)
    old = quiz.questions.get(position=2)
    flags = _get(teacher, tool_url, f"/analytics/quizzes/{quiz.pk}/items/")
    edit_links = re.findall(r'href="([^"]+)" data-testid="fix-edit"', flags.text)
    edit_url = next(html.unescape(u) for u in edit_links if f"/questions/{old.pk}/edit/" in u)

    saved = teacher.session.post(
        tool_url + edit_url,
        data={
            "launch": teacher.launch_id,
            "prompt": "Where is ATP made?",
            "options": "\n".join(old.options),
            "correct": "1",  # Mitochondria, counting from 1
            "points": "1",
            "explanation": "In the mitochondria.",
        },
        timeout=15,
    )

    assert saved.status_code == 200 and 'data-view="quiz-items"' in saved.text  # back on the flags
    assert f'action="/analytics/quizzes/{quiz.pk}/questions/{old.pk}/regrade/' in saved.text
    done = teacher.session.post(
        f"{tool_url}/analytics/quizzes/{quiz.pk}/questions/{old.pk}/regrade/",
        data={"launch": teacher.launch_id},
        timeout=15,
    )
    assert done.status_code == 200 and 'data-testid="regrade-done"' in done.text
    assert "11 attempt(s) changed, 11 score(s) sent to the gradebook again" in done.text
    assert AuditEvent.objects.filter(action="quiz.question.regrade", object_id=str(old.pk)).count() == 1
    assert 'data-testid="regrade"' not in done.text and 'data-testid="regraded"' in done.text
    # The six strong learners now have every point; the old revision keeps its (wrong) key for the record.
    assert Attempt.objects.filter(quiz=quiz, score=5.0).count() == 6
    assert Question.objects.get(pk=old.pk).correct == [1]


def test_the_edit_page_goes_back_only_to_a_path_of_this_tool(teacher, tool_url):
    quiz = quiz_with(teacher.context, [{"type": "single", "options": ["A", "B"], "correct": [0]}], title="Safe")
    question = quiz.questions.get()
    form = {"launch": teacher.launch_id, "prompt": "P", "options": "A\nB", "correct": "1", "points": "1"}
    for back in ("//evil.example/x", "https://evil.example/", "/ok?x=1"):
        answer = teacher.session.post(
            f"{tool_url}/quizzes/{quiz.pk}/questions/{question.pk}/edit/",
            params={"launch": teacher.launch_id, "back": back},
            data=form,
            allow_redirects=False,
            timeout=15,
        )
        assert answer.status_code == 303 and answer.headers["Location"].startswith(f"/quizzes/{quiz.pk}/manage/")
