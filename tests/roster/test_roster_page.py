"""The instructor's roster page, inside the platform's iframe, carrying the launch id."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlparse

import requests

from lms_tool.core.models import AuditEvent
from lms_tool.roster import services
from lms_tool.sandbox.platform import LaunchSpec

from ..lti.flow import error_code, launch


def launch_id(response: requests.Response) -> str:
    return parse_qs(urlparse(response.url).query)["launch"][0]


def test_an_instructor_sees_members_roles_status_and_last_launch(
    canvas, course, instructor, learners, context, sync, tool_url
):
    services.roster_sync(sync=sync)
    course.members["learner-3"].status = "Deleted"
    services.roster_sync(sync=sync, full=True)
    lid = launch_id(launch(canvas, LaunchSpec(instructor, course)))

    page = requests.get(f"{tool_url}/roster/", params={"launch": lid}, timeout=10)

    assert page.status_code == 200
    assert "X-Frame-Options" not in page.headers  # shown inside the platform's iframe
    assert 'data-view="roster"' in page.text
    assert "6 members" in page.text
    assert "Learner 2" in page.text and "learner2@example.edu" in page.text
    assert 'data-user="learner-3" data-active="false"' in page.text and "No access" in page.text
    # Roles in the platform's words: Canvas and Moodle say "Student", not the LIS "Learner".
    assert '<td data-label="Role">Instructor</td>' in page.text and '<td data-label="Role">Student</td>' in page.text
    assert f'name="launch" value="{lid}"' in page.text  # the sync form carries the launch, not a cookie
    assert 'data-status="ok"' in page.text
    # Active first, by name (names are encrypted at rest, so the page sorts them).
    order = [page.text.index(f'data-user="{sub}"') for sub in ("instructor-1", "learner-1", "learner-2", "learner-3")]
    assert order[0] < order[1] < order[2] and order[3] > page.text.index('data-user="learner-5"')


def test_the_page_shows_why_the_last_sync_failed(canvas, course, instructor, learners, context, sync, tool_url):
    services.roster_sync(sync=sync)
    canvas.faults["nrps"] = {"kind": "403", "page": 1}
    with contextlib.suppress(services.RosterSyncFailed):
        services.roster_sync(sync=sync, full=True)
    canvas.faults.pop("nrps")
    lid = launch_id(launch(canvas, LaunchSpec(instructor, course)))

    page = requests.get(f"{tool_url}/roster/", params={"launch": lid}, timeout=10)

    assert 'data-status="failed"' in page.text
    assert "refused access to the roster (HTTP 403)" in page.text
    assert "Nothing in the roster was changed" in page.text


def test_sync_now_queues_a_full_sync_and_audits_who_asked(
    canvas, course, instructor, learners, context, tool_url, eager_celery
):
    lid = launch_id(launch(canvas, LaunchSpec(instructor, course)))

    response = requests.post(f"{tool_url}/roster/sync/", data={"launch": lid}, timeout=30)

    assert response.status_code == 200
    assert "requested=queued" in response.url and f"launch={lid}" in response.url
    # Eager: it already ran, so the page says so instead of "requested, reload in a minute".
    assert "The sync you asked for has run" in response.text and "A sync has been requested" not in response.text
    assert 'data-user="learner-5" data-active="true"' in response.text
    audit = AuditEvent.objects.get(action="roster.sync_requested")
    assert (audit.actor_type, audit.actor_id) == ("user", "instructor-1")


def test_a_second_sync_now_while_one_is_queued_says_so(canvas, course, instructor, learners, context, tool_url):
    lid = launch_id(launch(canvas, LaunchSpec(instructor, course)))
    services.roster_sync_enqueue(sync=services.roster_sync_for(context=context))

    response = requests.post(f"{tool_url}/roster/sync/", data={"launch": lid}, timeout=30)

    assert "already on its way" in response.text


def test_a_sync_not_yet_run_is_still_shown_as_requested(canvas, course, instructor, learners, context, tool_url):
    lid = launch_id(launch(canvas, LaunchSpec(instructor, course)))

    response = requests.post(f"{tool_url}/roster/sync/", data={"launch": lid}, timeout=30)

    assert "A sync has been requested" in response.text and "has run" not in response.text


def test_a_learner_cannot_open_the_roster(canvas, course, learners, context, tool_url):
    lid = launch_id(launch(canvas, LaunchSpec(learners[0], course)))

    page = requests.get(f"{tool_url}/roster/", params={"launch": lid}, timeout=10)
    sync = requests.post(f"{tool_url}/roster/sync/", data={"launch": lid}, timeout=10)

    assert page.status_code == 403 and sync.status_code == 403
    assert error_code(page) == "role_forbidden"


def test_the_roster_needs_a_launch(tool_url, canvas):
    page = requests.get(f"{tool_url}/roster/", timeout=10)

    assert page.status_code == 401
    assert error_code(page) == "launch_required"
