"""The sandbox over HTTP: registration with the tool, launches it starts, bad input, roster edits, restarts."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from lms_tool.lti.models import Deployment, Membership, Registration
from lms_tool.sandbox.embedded import SandboxServer
from lms_tool.sandbox.platform import CANVAS_ISSUER, LaunchSpec, PlatformKey
from lms_tool.sandbox.services.ags_book import gradebook, line_item_add, result_of
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from ..lti.flow import launch

LTI, DL = "https://purl.imsglobal.org/spec/lti/claim/", "https://purl.imsglobal.org/spec/lti-dl/claim/"


def test_both_platforms_are_registered_with_the_tool_as_canvas_and_moodle(sandbox):
    canvas, moodle = sandbox.platforms["canvas"], sandbox.platforms["moodle"]

    assert canvas.issuer == CANVAS_ISSUER and moodle.issuer == sandbox.base_url + "/moodle"
    for platform in (canvas, moodle):
        registration = Registration.objects.get(issuer=platform.issuer, client_id=platform.client_id)
        assert registration.family == platform.family
        assert registration.key_set_url == platform.jwks_url and registration.auth_token_url == platform.token_url
        course = platform.courses["bio-101"]
        assert Deployment.objects.filter(registration=registration, deployment_id=course.deployment_id).exists()
        people = [p.name for p in course.members.values()]
        assert people == ["Ada Lovelace", "Grace Hopper", "Maya Chen", "Luis Garcia", "Priya Natarajan"]
    # Registering again (a restart) updates, never duplicates.
    sandbox.register()
    assert Registration.objects.filter(client_id__in=[canvas.client_id, moodle.client_id]).count() == 2


def test_a_framed_launch_of_an_activity_carries_its_custom_params_and_line_item(sandbox):
    canvas = sandbox.platforms["canvas"]
    course = canvas.courses["bio-101"]
    column = line_item_add(canvas, course, label="Heart quiz", score_maximum=5, resource_link_id="dl-abc")
    with canvas.lock:
        deep_linking_log(canvas).links.append(
            {
                "resource_link_id": "dl-abc",
                "title": "Heart quiz",
                "url": canvas.tool_launch_url,
                "custom": {"activity": "quiz:7"},
                "lineitem_url": column,
                "course": course.context_id,
            }
        )

    page = requests.get(
        f"{sandbox.url}canvas/ui/launch",
        params={"course": "bio-101", "user": "canvas-maya", "activity": "dl-abc"},
        timeout=10,
    )

    assert page.status_code == 200
    src = (
        re.search(r'<iframe id="tool" name="tool" title="Tool" data-src="([^"]+)"', page.text)
        .group(1)
        .replace("&amp;", "&")
    )
    query = parse_qs(urlparse(src).query)
    assert src.startswith(sandbox.tool_url + "/lti/login/")
    assert query["lti_storage_target"] == ["post_message_forwarding"] and query["login_hint"] == ["canvas-maya"]
    spec: LaunchSpec = canvas.hints[query["lti_message_hint"][0]]
    assert (spec.resource_link_id, spec.custom, spec.lineitem_url) == ("dl-abc", {"activity": "quiz:7"}, column)
    assert 'name="post_message_forwarding"' in page.text


def test_a_launch_in_a_new_window_goes_straight_to_the_tools_login(sandbox):
    answer = requests.get(
        f"{sandbox.url}moodle/ui/launch",
        params={"user": "moodle-teacher", "what": "deeplink", "open": "window"},
        allow_redirects=False,
        timeout=10,
    )

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(sandbox.tool_url + "/lti/login/?iss=")
    assert "lti_storage_target" not in answer.headers["Location"]


@pytest.mark.parametrize(
    "params",
    [{"user": "nobody"}, {"user": "canvas-maya", "what": "link:gone"}, {"user": "canvas-maya", "course": "nope"}],
    ids=["unknown-person", "unknown-activity", "unknown-course"],
)
def test_a_launch_of_something_not_in_the_course_is_refused_with_a_message(sandbox, params):
    answer = requests.get(f"{sandbox.url}canvas/ui/launch", params=params, timeout=10)

    assert answer.status_code in (400, 404)
    assert 'role="alert"' in answer.text and "Traceback" not in answer.text


class _Unhealthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "error", "checks": {"database": "ok", "cache": "error"}}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_tool_that_is_up_but_unhealthy_is_named_with_its_failing_check():
    tool = HTTPServer(("127.0.0.1", 0), _Unhealthy)
    threading.Thread(target=tool.serve_forever, daemon=True).start()
    server = SandboxServer(tool_url=f"http://127.0.0.1:{tool.server_port}").start()
    try:
        answer = requests.get(f"{server.base_url}/moodle/ui/launch", params={"user": "moodle-maya"}, timeout=10)
        window = requests.get(
            f"{server.base_url}/moodle/ui/launch", params={"user": "moodle-maya", "open": "window"}, timeout=10
        )
    finally:
        server.stop()
        tool.shutdown()

    assert answer.status_code == 503 and window.status_code == 503
    for text in (answer.text, window.text):
        assert "is up but not healthy" in text and "answered 503 (failing: cache)" in text
    assert '<iframe id="tool"' not in answer.text


def test_a_deep_linking_response_that_fails_verification_is_shown_with_its_reason(sandbox):
    canvas = sandbox.platforms["canvas"]
    now = int(time.time())
    claims = {
        "iss": canvas.client_id,
        "aud": canvas.issuer,
        "iat": now,
        "exp": now + 600,
        "nonce": "n-1",
        LTI + "deployment_id": canvas.courses["bio-101"].deployment_id,
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        DL + "content_items": [
            {
                "type": "ltiResourceLink",
                "title": "Forged",
                "url": canvas.tool_launch_url,
                "lineItem": {"scoreMaximum": 100, "label": "Forged"},
            }
        ],
    }
    forged = PlatformKey.generate().sign(claims)  # signed, but not with any key the tool publishes

    answer = requests.post(f"{canvas.base_url}/deep-link-return", data={"JWT": forged}, timeout=10)
    course_page = requests.get(sandbox.url + "canvas/", timeout=10)

    assert answer.status_code == 400
    reason = re.search(r'data-testid="dl-refused">([^<]+)<', answer.text).group(1)
    assert reason.startswith("response not verified") and reason == deep_linking_log(canvas).refused[0]
    assert "Nothing was added to the course." in answer.text
    assert "Refused: response not verified" in course_page.text
    assert gradebook(canvas).items_in("bio-101") == [] and 'data-testid="activity"' not in course_page.text


def test_roster_edits_reach_the_tools_roster_through_nrps_on_sync_now(sandbox, eager):
    canvas = sandbox.platforms["canvas"]
    course = canvas.courses["bio-101"]
    teacher = launch(canvas, LaunchSpec(course.members["canvas-teacher"], course))  # its first sync runs (eager)
    launch_id = parse_qs(urlparse(teacher.url).query)["launch"][0]
    assert Membership.objects.filter(context__context_id="bio-101", is_active=True).count() == 5

    added = requests.post(
        f"{sandbox.url}canvas/ui/roster/add", data={"name": "Zoe Newcomer", "role": "Learner"}, timeout=10
    )
    dropped = requests.post(f"{sandbox.url}canvas/ui/roster/drop", data={"user": "canvas-luis"}, timeout=10)
    assert "Zoe Newcomer joined Biology 101." in added.text and "Luis Garcia was dropped" in dropped.text
    # The instructor presses Sync now on the tool's roster page (the sync runs eagerly, as a worker would).
    synced = requests.post(f"{sandbox.tool_url}/roster/sync/", data={"launch": launch_id}, timeout=10)

    assert synced.status_code == 200 and 'data-view="roster"' in synced.text
    members = dict(Membership.objects.filter(context__context_id="bio-101").values_list("user__sub", "is_active"))
    assert members["canvas-zoe-newcomer"] is True and members["canvas-luis"] is False
    assert 'data-user="canvas-luis" data-active="false"' in synced.text
    panels = requests.get(f"{sandbox.url}canvas/ui/panels", timeout=10).text
    assert "roster read (NRPS)" in panels


@pytest.mark.parametrize("family", ["canvas", "moodle"])
def test_the_sandbox_plays_a_site_admin_the_roster_never_lists_and_she_keeps_access(sandbox, eager, family):
    platform = sandbox.platforms[family]
    course = platform.courses["bio-101"]
    page = requests.get(f"{sandbox.url}{family}/", timeout=10).text
    assert f'value="{family}-admin"' in page and "site admin, not enrolled" in page
    admin = platform.site_admins[f"{family}-admin"]
    assert admin.user_id not in course.members  # NRPS lists the course's members only

    first = launch(platform, LaunchSpec(admin, course))  # the course's first launch: its roster sync runs (eager)
    assert first.status_code == 200, first.text[:300]
    launch_id = parse_qs(urlparse(first.url).query)["launch"][0]
    synced = requests.post(f"{sandbox.tool_url}/roster/sync/", data={"launch": launch_id}, timeout=10)

    assert synced.status_code == 200 and 'data-view="roster"' in synced.text
    admin_row = Membership.objects.get(context__context_id="bio-101", user__sub=admin.user_id)
    assert (admin_row.is_active, admin_row.roster_listed_at) == (True, None)
    again = launch(platform, LaunchSpec(admin, course))
    assert again.status_code == 200, again.text[:300]


def test_a_student_dropped_and_enrolled_again_in_the_sandbox_launches_the_first_time(sandbox, eager):
    moodle = sandbox.platforms["moodle"]
    course = moodle.courses["bio-101"]
    teacher = launch(moodle, LaunchSpec(course.members["moodle-teacher"], course))  # the first sync runs (eager)
    teacher_launch = parse_qs(urlparse(teacher.url).query)["launch"][0]
    maya = course.members["moodle-maya"]
    assert launch(moodle, LaunchSpec(maya, course)).status_code == 200

    requests.post(f"{sandbox.url}moodle/ui/roster/drop", data={"user": "moodle-maya"}, timeout=10)
    requests.post(f"{sandbox.tool_url}/roster/sync/", data={"launch": teacher_launch}, timeout=10)
    assert not Membership.objects.get(context__context_id="bio-101", user__sub="moodle-maya").is_active
    page = requests.get(f"{sandbox.url}moodle/", timeout=10).text
    assert 'data-testid="dropped" data-user="moodle-maya"' in page

    # Launches carry whole seconds (iat): one signed in the second of the revocation does not count as newer.
    time.sleep(1.1)
    again = requests.post(f"{sandbox.url}moodle/ui/roster/reenrol", data={"user": "moodle-maya"}, timeout=10)
    assert "Maya Chen is enrolled in Biology 101 again." in again.text
    relaunch = launch(moodle, LaunchSpec(course.members["moodle-maya"], course))  # before any roster read

    assert relaunch.status_code == 200, relaunch.text[:300]
    assert Membership.objects.get(context__context_id="bio-101", user__sub="moodle-maya").is_active


def test_the_gradebook_shows_what_each_platform_keeps_of_a_pending_manual_score(sandbox):
    shown = {}
    for family, platform in sandbox.platforms.items():
        course = platform.courses["bio-101"]
        url = line_item_add(platform, course, label="Essay", score_maximum=4)
        item = gradebook(platform).item_by_url(url)
        score = {
            "userId": f"{family}-maya",
            "scoreGiven": 3,
            "scoreMaximum": 4,
            "activityProgress": "Completed",
            "gradingProgress": "PendingManual",
            "timestamp": "2026-01-02T03:04:05+00:00",
        }
        data = {**score, "_at": datetime.fromisoformat(score["timestamp"])}
        with platform.lock:  # what the AGS score endpoint records (services/ags.py)
            gradebook(platform).results[(item["_key"], score["userId"])] = result_of(item, data, family)
            gradebook(platform).log.append({**data, "lineItem": url})
        panels = requests.get(f"{platform.base_url}/ui/panels", timeout=10).text
        shown[family] = re.search(
            r'<td data-testid="cell" data-user="[^"]+" data-column="Essay"[^>]*>(.*?)</td>', panels
        ).group(1)

    assert "3 / 4" in shown["canvas"] and "needs grading" in shown["canvas"]
    assert "no grade kept" in shown["moodle"] and "3 / 4" not in shown["moodle"]


def test_courses_activities_and_grades_survive_a_restart(tmp_path, closed_port):
    first = SandboxServer(tool_url="http://127.0.0.1:1", state_dir=tmp_path).start()
    port = first.httpd.server_port
    requests.post(
        f"{first.base_url}/moodle/ui/roster/add", data={"name": "Zoe Newcomer", "role": "Learner"}, timeout=10
    )
    moodle = first.platforms["moodle"]  # type: ignore[attr-defined]
    column = line_item_add(moodle, moodle.courses["bio-101"], label="Cells", score_maximum=2)
    requests.post(f"{first.base_url}/moodle/ui/roster/drop", data={"user": "moodle-luis"}, timeout=10)  # saves
    first.stop()

    again = SandboxServer(tool_url="http://127.0.0.1:1", port=port, state_dir=tmp_path)
    elsewhere = SandboxServer(tool_url="http://127.0.0.1:1", port=closed_port, state_dir=tmp_path)
    again.httpd.server_close()
    elsewhere.httpd.server_close()

    members = again.platforms["moodle"].courses["bio-101"].members
    assert "moodle-zoe-newcomer" in members and "moodle-luis" not in members
    assert gradebook(again.platforms["moodle"]).item_by_url(column)["label"] == "Cells"
    # State written for another address is not restored: its URLs would point nowhere.
    assert "moodle-luis" in elsewhere.platforms["moodle"].courses["bio-101"].members


def test_run_embedded_starts_the_registered_sandbox_and_explains_a_busy_port(db, settings, tmp_path, closed_port):
    from lms_tool.launcher.management.commands.run_embedded import Command

    settings.VAR_DIR, settings.SANDBOX_PORT = tmp_path, closed_port
    command = Command(stdout=io.StringIO(), stderr=io.StringIO())
    server = command._sandbox("http://127.0.0.1:8000", 8000)
    assert server is not None
    try:
        busy = command._sandbox("http://127.0.0.1:8000", 8000)  # the port is taken now
        page = requests.get(server.url, timeout=10)
    finally:
        server.stop()

    assert server.url == f"http://127.0.0.1:{closed_port}/" and "LTI sandbox: Biology 101" in page.text
    assert Registration.objects.filter(name__startswith="Sandbox (").count() == 2
    assert busy is None and f"could not listen on 127.0.0.1:{closed_port}" in command.stderr.getvalue()
