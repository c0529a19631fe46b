"""LTI Submission Review 1.0: the line items carry ``submissionReview``, the sandbox gradebook links graders to it,
and the review launch shows that learner's work, only inside the launch's course."""

from __future__ import annotations

import html
import re

import requests

from lms_tool.flashcards.models import Deck
from lms_tool.grading import passback
from lms_tool.grading.models import Score
from lms_tool.quizzes.models import Attempt, Question
from lms_tool.sandbox import ui  # noqa: F401 - registers the sandbox pages' routes (the gradebook page)
from lms_tool.sandbox.people import SandboxInfo
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from ..flashcards.factories import CardFactory, DeckFactory
from ..quizzes.factories import make_quiz
from ..quizzes.flow import return_form, seat
from .flow import error_code, launch

_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_FORM = re.compile(r'<form[^>]*action="([^"]+)"')


def _embed(platform, course, instructor, tool_url, activity):  # type: ignore[no-untyped-def]
    teacher = seat(platform, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    picked = teacher.session.post(
        f"{tool_url}/quizzes/pick/", data={"launch": teacher.launch_id, "item": activity(teacher)}, timeout=10
    )
    action, fields = return_form(picked.text)
    teacher.session.post(action, data=fields, timeout=10)
    return deep_linking_log(platform).links[-1]


def _learner_launch(platform, course, student, link):  # type: ignore[no-untyped-def]
    spec = LaunchSpec(
        student,
        course,
        resource_link_id=link["resource_link_id"],
        resource_link_title=link["title"],
        custom=link["custom"],
        lineitem_url=link["lineitem_url"],
    )
    return seat(platform, spec)


def _review_links(platform, course, tool_url):  # type: ignore[no-untyped-def]
    platform.extensions.setdefault("sandbox", SandboxInfo(tool_url, platform.family, platform.base_url + "/"))
    panels = requests.get(f"{platform.base_url}/ui/panels", params={"course": course.context_id}, timeout=10).text
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)" data-testid="submission-review"', panels)]


def _open(href: str) -> requests.Response:
    """The grader follows the gradebook's link: the platform's login, its auth form, the launch POST."""
    session = requests.Session()
    auth = session.get(href + "&open=window", timeout=10)
    assert auth.status_code == 200, auth.text[:500]
    action = html.unescape(_FORM.search(auth.text).group(1))  # type: ignore[union-attr]
    fields = {k: html.unescape(v) for k, v in _INPUT.findall(auth.text)}
    return session.post(action, data=fields, timeout=10)


def test_the_grader_opens_a_learners_quiz_attempt_from_the_platform_gradebook(
    platform, course, instructor, student, tool_url
):
    link = _embed(platform, course, instructor, tool_url, lambda t: f"quiz:{make_quiz(t, count=2).pk}")
    sam = _learner_launch(platform, course, student, link)
    quiz_pk = link["custom"]["activity"].split(":")[1]
    sam.session.post(f"{tool_url}/quizzes/{quiz_pk}/take/", data={"launch": sam.launch_id}, timeout=10)
    attempt = Attempt.objects.get(user_id=sam.lti.user_pk)
    answers = {f"q{q.pk}": str(q.correct[0]) for q in Question.objects.filter(pk__in=attempt.question_ids)}
    sam.session.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/", data={"launch": sam.launch_id, **answers}, timeout=10
    )
    passback.score_post(score_id=Score.objects.get(user_id=sam.lti.user_pk).pk)

    (href,) = _review_links(platform, course, tool_url)
    page = _open(href)

    assert page.status_code == 200, page.text[:800]
    assert 'data-view="submission-review"' in page.text and "Sam Student" in page.text
    assert "Attempt 1: Submitted, 2 / 2" in page.text
    prompts = Question.objects.filter(pk__in=attempt.question_ids).values_list("prompt", flat=True)
    assert all(html.escape(p[:40]) in page.text for p in prompts)


def test_the_grader_sees_a_learners_deck_progress(platform, course, instructor, student, tool_url):
    def deck(teacher):  # type: ignore[no-untyped-def]
        made = DeckFactory(context=teacher.context, status=Deck.Status.PUBLISHED, title="Cells")
        CardFactory.create_batch(2, deck=made, status="approved")
        return f"deck:{made.pk}"

    link = _embed(platform, course, instructor, tool_url, deck)
    assert deep_linking_log(platform).responses[-1]["items"][0]["lineItem"]["submissionReview"]["url"]
    sam = _learner_launch(platform, course, student, link)
    deck_pk = int(link["custom"]["activity"].split(":")[1])
    review = sam.session.get(f"{tool_url}/flashcards/decks/{deck_pk}/review/", params={"launch": sam.launch_id})
    token = re.search(r'name="token" value="([^"]*)"', review.text).group(1)  # type: ignore[union-attr]
    sam.session.post(
        f"{tool_url}/flashcards/decks/{deck_pk}/review/rate",
        data={"launch": sam.launch_id, "token": token, "rating": "3"},
        timeout=10,
    )
    passback.score_post(score_id=Score.objects.get(user_id=sam.lti.user_pk).pk)

    (href,) = _review_links(platform, course, tool_url)
    page = _open(href)

    assert page.status_code == 200, page.text[:800]
    assert "Cells" in page.text and "1 of 2" in page.text and "studied at least once" in page.text


def test_a_learner_of_another_course_is_refused_like_a_missing_one(platform, course, instructor, student, tool_url):
    link = _embed(platform, course, instructor, tool_url, lambda t: f"quiz:{make_quiz(t, count=1).pk}")
    other = platform.add_course("course-202", title="Chemistry")
    stranger = platform.enrol(other, Person("student-9", "Kim Other", "kim@example.edu", [ROLE + "Learner"]))
    seat(platform, LaunchSpec(stranger, other))  # known to the tool, in another course
    nobody = Person("student-404", "No One", "no@example.edu", [ROLE + "Learner"])

    answers = []
    for learner in (stranger, nobody):
        spec = LaunchSpec(
            instructor,
            course,
            message_type="LtiSubmissionReviewRequest",
            resource_link_id=link["resource_link_id"],
            custom=link["custom"],
            lineitem_url=link["lineitem_url"],
            for_user=learner,
        )
        answers.append(launch(platform, spec))

    assert [(a.status_code, error_code(a)) for a in answers] == [(404, "submission_missing")] * 2
    assert "Kim Other" not in answers[0].text


def test_a_student_cannot_open_the_submission_review_page(platform, course, instructor, student, tool_url):
    link = _embed(platform, course, instructor, tool_url, lambda t: f"quiz:{make_quiz(t, count=1).pk}")
    spec = LaunchSpec(
        student,
        course,
        message_type="LtiSubmissionReviewRequest",
        resource_link_id=link["resource_link_id"],
        custom=link["custom"],
        lineitem_url=link["lineitem_url"],
        for_user=student,
    )

    answer = launch(platform, spec)

    assert (answer.status_code, error_code(answer)) == (403, "role_forbidden"), answer.text[-1500:]
