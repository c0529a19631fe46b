"""Each finding of the tenant-isolation review, replayed as the attacker would, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from lms_tool.lti.models import Context, LtiUser, Membership
from lms_tool.quizzes.models import Attempt
from lms_tool.roster import services as roster_services
from lms_tool.sandbox.platform import LaunchSpec

from ..quizzes.flow import seat
from .test_url_table import answer
from .world import MISSING, World, api_client, state

pytestmark = pytest.mark.django_db


def _shows_nothing_of_a(world: World, response: requests.Response) -> None:
    leaked = [s for s in world.secrets if s in response.text]
    assert not leaked, f"tenant A's {leaked} shown: {response.status_code} {response.url}"


def test_typed_custom_activity_opens_no_quiz_of_another_registration(world):
    # Moodle lets an instructor type custom parameters into a resource link: B's instructor names A's quiz.
    quiz = world.ids["quiz"]
    typed = {"activity": f"quiz:{quiz}"}
    b = world.b
    attempts = Attempt.objects.filter(quiz_id=quiz).count()

    for who in (b.teacher, b.student):
        person = seat_or_refusal(world, LaunchSpec(who, b.course, resource_link_id="rl-typed", custom=typed))
        if person is None:
            continue  # the launch itself was refused: nothing to open
        landing = requests.get(person.landing, timeout=10)
        take = requests.get(f"{world.tool_url}/quizzes/{quiz}/take/", params={"launch": person.launch_id}, timeout=10)
        start = requests.post(f"{world.tool_url}/quizzes/{quiz}/take/", data={"launch": person.launch_id}, timeout=10)

        for response in (landing, take, start):
            _shows_nothing_of_a(world, response)
            assert response.status_code == 404, (who.name, response.url, response.status_code)
    assert Attempt.objects.filter(quiz_id=quiz).count() == attempts, "B's launch started an attempt on A's quiz"


def seat_or_refusal(world: World, spec: LaunchSpec) -> Any:
    """The launch's seat, or None when the tool refuses the launch (a clear 4xx, nothing of A shown)."""
    from ..lti.flow import launch

    response = launch(world.b.platform, spec)
    _shows_nothing_of_a(world, response)
    if response.status_code >= 400:
        return None
    return seat(world.b.platform, spec)


def test_dropped_student_cannot_use_open_attempt_from_another_course(world):
    a = world.a
    course2 = a.platform.courses["alpha-102"]
    attempt = world.ids["attempt_course2"]
    context2 = Context.objects.get(pk=world.ids["context2"])
    course2.members[a.student.user_id].status = "Inactive"
    try:
        sync = roster_services.roster_sync_for(context=context2)
        roster_services.roster_sync(sync=sync, full=True)
    finally:
        course2.members[a.student.user_id].status = "Active"
    student = LtiUser.objects.get(registration=a.registration, sub=a.student.user_id)
    assert not Membership.objects.get(context=context2, user=student).is_active, "the roster sync did not drop"
    course1 = seat(a.platform, LaunchSpec(a.student, a.course))
    courseless = seat(a.platform, LaunchSpec(a.student, None))
    before = state()

    for who in (course1, courseless):
        for method, path in (("GET", ""), ("POST", "answer/"), ("POST", "submit/"), ("GET", "result/")):
            got = {}
            for attempt_id in (attempt, MISSING):
                url = f"{world.tool_url}/quizzes/attempts/{attempt_id}/{path}"
                got[attempt_id] = requests.request(
                    method,
                    url,
                    params={"launch": who.launch_id},
                    data={"launch": who.launch_id} if method == "POST" else None,
                    timeout=10,
                )
            assert got[attempt].status_code == 404, (method, path, got[attempt].status_code, who.landing)
            assert answer(got[attempt], world.ids) == answer(got[MISSING], world.missing_ids())
    assert state() == before, "the dropped student's requests changed rows"
    assert Attempt.objects.get(pk=attempt).submitted_at is None


def test_api_client_of_course_b_cannot_export_or_erase_course_a_rows(world):
    # A's registration has two courses; an SIS client may reach only the second ("course B" here).
    a = world.a
    token = api_client("Course 2 tool", context_pks=[world.ids["context2"]])
    headers = {"Authorization": f"Bearer {token}"}
    student = world.ids["student_user"]
    course1 = world.ids["context"]
    course1_rows = {
        "memberships": Membership.objects.filter(context_id=course1, user_id=student).count(),
        "attempts": Attempt.objects.filter(quiz__context_id=course1, user_id=student).count(),
    }
    assert all(course1_rows.values())

    export = requests.get(f"{world.tool_url}/api/v1/users/{student}/export", headers=headers, timeout=10)
    if export.status_code == 200:
        records = export.json()["records"]
        course1_memberships = [r for r in records.get("lti.Membership", []) if r.get("context") == course1]
        course1_attempts = [r for r in records.get("quizzes.Attempt", []) if r.get("quiz") == world.ids["quiz"]]
        assert not course1_memberships and not course1_attempts, "the export holds course 1's rows"
        assert "ALPHASECRET something vague" not in export.text
    erase = requests.post(
        f"{world.tool_url}/api/v1/users/{student}/erase", json={"mode": "delete"}, headers=headers, timeout=10
    )

    after = {
        "memberships": Membership.objects.filter(context_id=course1, user_id=student).count(),
        "attempts": Attempt.objects.filter(quiz__context_id=course1, user_id=student).count(),
    }
    assert after == course1_rows, f"erasing through course 2 removed course 1's rows ({erase.status_code})"
    assert LtiUser.objects.filter(pk=student).exists()
    assert a.registration.pk == LtiUser.objects.get(pk=student).registration_id


@pytest.mark.parametrize(
    ("method", "path", "ref"),
    [
        ("GET", "users/{}", "student_user"),
        ("GET", "users/{}/export", "student_user"),
        ("POST", "users/{}/erase", "student_user"),
        ("GET", "courses/{}", "context"),
        ("GET", "enrollments/{}", "membership"),
        ("DELETE", "enrollments/{}", "membership"),
        ("GET", "quizzes/{}", "quiz"),
        ("GET", "decks/{}", "deck"),
        ("GET", "attempts/{}", "attempt_submitted"),
        ("GET", "scores/{}", "score"),
        ("POST", "review-items/{}/decision", "score"),
        ("POST", "dead-letters/{}/replay", "score"),
        ("GET", "webhooks/subscriptions/{}", "subscription"),
        ("DELETE", "webhooks/subscriptions/{}", "subscription"),
        ("POST", "webhooks/deliveries/{}/replay", "delivery"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_out_of_reach_api_ids_answer_like_missing(world, method, path, ref):
    headers = {"Authorization": f"Bearer {world.api['api-registration']}"}
    body = {"reviewer": world.ids["teacher_user"], "score_given": 0, "mode": "delete"} if method == "POST" else None
    before = state()

    real = requests.request(
        method, f"{world.tool_url}/api/v1/{path.format(world.ids[ref])}", json=body, headers=headers, timeout=10
    )
    missing = requests.request(
        method, f"{world.tool_url}/api/v1/{path.format(MISSING)}", json=body, headers=headers, timeout=10
    )

    assert (real.status_code, real.json()) == (missing.status_code, missing.json()), (
        "out of reach answers unlike missing"
    )
    assert real.status_code == 404
    assert state() == before


def test_enrolling_into_a_course_out_of_reach_answers_like_a_missing_course(world):
    headers = {"Authorization": f"Bearer {world.api['api-registration']}"}
    body = {"user": {"sub": "intruder"}, "roles": ["Learner"]}
    before = state()

    real = requests.post(
        f"{world.tool_url}/api/v1/enrollments",
        json={**body, "course": world.ids["context"]},
        headers=headers,
        timeout=10,
    )
    missing = requests.post(
        f"{world.tool_url}/api/v1/enrollments", json={**body, "course": MISSING}, headers=headers, timeout=10
    )

    assert (real.status_code, real.json()) == (missing.status_code, missing.json())
    assert state() == before
