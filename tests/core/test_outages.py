"""Database and cache outages: people get a 503 page that says to retry, API clients a JSON 503, and
nothing is half-written; the same request succeeds once the outage is over.

The outage is a ``FaultProxy`` between the tool and the shared PostgreSQL or Redis, cut by refusing
connections or by silently dropping their bytes (tests/faults/proxy.py).
"""

from __future__ import annotations

import pytest
import requests

from lms_tool.api.services import api_client_create
from lms_tool.grading.models import Score
from lms_tool.quizzes.models import Attempt, Question
from lms_tool.sandbox.platform import LaunchSpec

from ..faults.proxy import DROP, REFUSE
from ..faults.services import cache_through_proxy, database_through_proxy, needs_services
from ..quizzes.factories import make_quiz
from ..quizzes.flow import seat

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _offline(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False  # the outbox row is what we count; no broker needed


def _assert_unavailable_page(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["Retry-After"].isdigit()
    assert 'data-testid="unavailable"' in response.text
    assert "briefly unavailable" in response.text and "try again" in response.text
    assert "Something went wrong" not in response.text


@pytest.mark.parametrize("mode", [REFUSE, DROP])
def test_a_quiz_submit_during_a_database_outage_answers_503_and_succeeds_once_after(
    canvas, course, instructor, student, tool_url, mode
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=2, types=["true_false"])  # type: ignore[arg-type]
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    s, launch_id = learner.session, learner.launch_id
    s.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": launch_id}, timeout=10)
    attempt = Attempt.objects.get(quiz=quiz)
    truth = Question.objects.get(pk=attempt.question_ids[0])
    submit = f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/"
    form = {"launch": launch_id, f"q{truth.pk}": str(truth.correct[0])}
    s.close()  # its keep-alive server thread holds a direct database connection

    def post() -> requests.Response:
        # A new HTTP connection each time, so the server answers on a new thread whose database
        # connection is a new one, made through the proxy.
        return requests.post(submit, data=form, cookies=s.cookies, allow_redirects=False, timeout=20)

    with database_through_proxy() as proxy:
        with proxy.down(mode):
            during = post()

        _assert_unavailable_page(during)
        attempt.refresh_from_db()
        assert attempt.state == Attempt.State.IN_PROGRESS and Score.objects.count() == 0

        after = post()
        again = post()

    assert after.status_code == again.status_code == 303, after.text[:300]
    attempt.refresh_from_db()
    assert attempt.state == Attempt.State.SUBMITTED
    assert Score.objects.count() == 1 and Attempt.objects.filter(quiz=quiz).count() == 1


@pytest.mark.parametrize("mode", [REFUSE, DROP])
def test_a_login_during_a_cache_outage_answers_the_503_page(canvas, course, student, tool_url, settings, mode):
    login_url = canvas.login_initiation_url(LaunchSpec(student, course))

    with cache_through_proxy(settings) as proxy:
        with proxy.down(mode):
            during = requests.get(login_url, allow_redirects=False, timeout=20)
        after = requests.get(login_url, allow_redirects=False, timeout=20)

    _assert_unavailable_page(during)
    assert after.status_code == 302


def test_an_api_call_during_a_database_outage_answers_json_503(tool_url):
    _, token = api_client_create(name="SIS", scopes=["roster:read"], created_by="test", all_contexts=True)

    with database_through_proxy() as proxy:
        with proxy.down(REFUSE):
            during = requests.get(
                f"{tool_url}/api/v1/courses", headers={"Authorization": f"Bearer {token}"}, timeout=20
            )
        after = requests.get(f"{tool_url}/api/v1/courses", headers={"Authorization": f"Bearer {token}"}, timeout=20)

    assert during.status_code == 503 and during.headers["Retry-After"].isdigit()
    assert during.headers["Content-Type"].startswith("application/json")
    body = during.json()
    assert body["status"] == 503 and body["code"] == "unavailable" and "try again" in body["detail"]
    assert after.status_code == 200, after.text[:300]
