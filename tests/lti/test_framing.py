"""Who may frame which page: the platforms' frame origins under a launch, nobody for the admin and the API."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from lms_tool.core.models import AuditEvent
from lms_tool.lti import claims as c
from lms_tool.lti.models import Registration
from lms_tool.sandbox import registration as platform_registration
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform

from ..conftest import make_platform, registration_of
from .flow import launch, start

CSP = "Content-Security-Policy"


def _ancestors(response: requests.Response) -> str:
    found = re.search(r"frame-ancestors ([^;]*)", response.headers.get(CSP, ""))
    assert found, f"no frame-ancestors on {response.url}: {response.headers.get(CSP)!r}"
    return found.group(1)


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


def _launch_id(response: requests.Response) -> str:
    return parse_qs(urlparse(response.url).query)["launch"][0]


def _unframeable(response: requests.Response) -> bool:
    return _ancestors(response) == "'none'" and response.headers.get("X-Frame-Options") == "DENY"


def test_a_canvas_launch_page_may_be_framed_by_the_school_domain_it_learned_not_by_the_issuer(
    canvas, course, student, tool_url
):
    school = _origin(canvas.base_url)  # where the course page is (return_url), unlike the issuer
    response = launch(canvas, LaunchSpec(student, course))
    page = requests.get(f"{tool_url}/lti/activity/", params={"launch": _launch_id(response)}, timeout=10)

    assert canvas.issuer == "https://canvas.instructure.com"
    assert response.status_code == 200 and page.status_code == 200
    for framed in (response, page):
        assert _ancestors(framed) == f"'self' {school}"
        assert "X-Frame-Options" not in framed.headers
    assert registration_of(canvas).frame_origins == [school]
    learned = AuditEvent.objects.get(action="registration.frame_origins")
    assert learned.after == [school] and learned.before == []


def test_a_repeat_launch_learns_nothing_new_and_writes_nothing(canvas, course, student):
    launch(canvas, LaunchSpec(student, course))
    launch(canvas, LaunchSpec(student, course, resource_link_id="another-link"))

    assert registration_of(canvas).frame_origins == [_origin(canvas.base_url)]
    assert AuditEvent.objects.filter(action="registration.frame_origins").count() == 1


def test_the_admin_configured_origin_frames_launches_beside_the_learned_one(canvas, course, student, tool_url):
    Registration.objects.filter(pk=registration_of(canvas).pk).update(frame_origins=["https://school.instructure.com"])

    response = launch(canvas, LaunchSpec(student, course))

    assert _ancestors(response) == f"'self' https://school.instructure.com {_origin(canvas.base_url)}"


def _without_presentation(claims: dict) -> dict:
    claims.pop(c.LAUNCH_PRESENTATION, None)
    return claims


def test_it_learns_the_origin_of_a_launch_posted_from_the_platform_itself(platform_server, tool_url):
    """A platform that sends no return_url: the launch POST's Origin counts when it is the platform's own."""
    moodle = make_platform(platform_server, tool_url, family="moodle")
    course = moodle.add_course("course-101")
    person = moodle.enrol(course, Person("s", "S S", "s@example.edu", [ROLE + "Learner"], "S", "S"))
    pending = start(moodle, LaunchSpec(person, course, claims_hook=_without_presentation))
    pending.session.headers["Origin"] = _origin(moodle.base_url)

    response = pending.post()

    assert response.status_code == 200, response.text[:500]
    assert registration_of(moodle).frame_origins == [_origin(moodle.base_url)]
    assert _ancestors(response) == f"'self' {_origin(moodle.base_url)}"


def test_it_learns_nothing_from_a_launch_posted_from_another_site(canvas, course, student):
    """A valid id_token of one's own, posted from one's own page, must not make that page a frame origin."""
    pending = start(canvas, LaunchSpec(student, course, claims_hook=_without_presentation))
    pending.session.headers["Origin"] = "https://attacker.example"

    response = pending.post()

    assert response.status_code == 200
    assert registration_of(canvas).frame_origins == []
    assert _ancestors(response) == "'self'"
    assert not AuditEvent.objects.filter(action="registration.frame_origins").exists()


def test_the_admin_api_docs_and_home_are_never_framed_even_with_a_live_launch(canvas, course, student, tool_url):
    launch_id = _launch_id(launch(canvas, LaunchSpec(student, course)))

    for path in ("/admin/login/", "/api/docs/", "/api/v1/users", "/healthz", "/", "/lti/config/", "/nowhere"):
        for params in ({}, {"launch": launch_id}):
            response = requests.get(tool_url + path, params=params, timeout=10)
            assert _unframeable(response), (path, params, response.headers)


def test_the_login_and_launch_steps_may_be_framed_by_any_platform(canvas, course, student, tool_url):
    """Before the launch the tool does not know who frames it (Canvas's school domain is not its issuer)."""
    login = requests.get(canvas.login_initiation_url(LaunchSpec(student, course)), allow_redirects=False, timeout=10)
    refused = requests.post(f"{tool_url}/lti/launch/", data={"state": "x", "id_token": "y"}, timeout=10)

    assert login.status_code == 302 and _ancestors(login) == "*"
    assert refused.status_code == 400 and _ancestors(refused) == "*"  # the error is shown inside the platform
    assert "X-Frame-Options" not in login.headers


def test_a_page_whose_launch_has_ended_says_so_inside_any_frame(canvas, tool_url):
    response = requests.get(f"{tool_url}/quizzes/pick/", params={"launch": "ended-long-ago"}, timeout=10)

    assert response.status_code == 401 and "open the tool again" in response.text
    assert _ancestors(response) == "*"


@pytest.fixture
def moodle_to_register(platform_server, tool_url, settings) -> Platform:  # type: ignore[no-untyped-def]
    settings.LTI_DEV_ALLOW_HTTP = True
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    platform = Platform(
        base_url=platform_server.base_url,
        tool_login_url="",
        tool_launch_url="",
        tool_jwks_url="",
        family="moodle",
        issuer=platform_server.base_url,
    )
    platform_server.platform = platform
    return platform


def test_dynamic_registration_may_be_framed_only_by_the_platform_that_opened_it(moodle_to_register, tool_url):
    platform = _origin(moodle_to_register.base_url)
    confirm = requests.get(platform_registration.start_url(moodle_to_register, f"{tool_url}/lti/register/"), timeout=10)
    pending = re.search(r'name="pending" value="([^"]+)"', confirm.text)
    assert confirm.status_code == 200 and pending, confirm.text[:500]
    done = requests.post(f"{tool_url}/lti/register/", data={"pending": pending.group(1)}, timeout=10)
    again = requests.post(f"{tool_url}/lti/register/", data={"pending": pending.group(1)}, timeout=10)

    assert _ancestors(confirm) == f"'self' {platform}"
    assert done.status_code == 200 and _ancestors(done) == f"'self' {platform}"
    assert again.status_code == 410 and _ancestors(again) == "'self'"  # spent: nobody vouches for a framer


def _change(admin_client, registration: Registration, frame_origins: str):  # type: ignore[no-untyped-def]
    form = {
        "name": "",
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "auth_login_url": registration.auth_login_url,
        "auth_token_url": registration.auth_token_url,
        "key_set_url": registration.key_set_url,
        "auth_audience": "",
        "family": registration.family,
        "deployment_policy": registration.deployment_policy,
        "is_active": "on",
        "scopes": "[]",
        "frame_origins": frame_origins,
        "deployments-TOTAL_FORMS": "0",
        "deployments-INITIAL_FORMS": "0",
        "deployments-MIN_NUM_FORMS": "0",
        "deployments-MAX_NUM_FORMS": "1000",
    }
    return admin_client.post(f"/admin/lti/registration/{registration.pk}/change/", form)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ('["https://school.instructure.com/courses/1"]', "is a URL, not an origin"),
        ('["http://school.example.edu"]', "does not use HTTPS"),
        ('["https://*.instructure.com"]', "does not have a valid host name"),
        ('["https://school.example.edu; script-src *"]', "not a web origin"),
        ('"https://school.example.edu"', "Give a JSON list of origins"),
    ],
)
def test_the_admin_is_told_which_frame_origin_is_wrong_and_nothing_is_saved(admin_client, canvas, typed, message):
    registration = registration_of(canvas)

    response = _change(admin_client, registration, typed)

    assert response.status_code == 200 and message in response.content.decode()
    registration.refresh_from_db()
    assert registration.frame_origins == []


def test_the_admin_sets_frame_origins_kept_in_their_plain_form(admin_client, canvas):
    registration = registration_of(canvas)

    response = _change(
        admin_client, registration, '["https://School.Instructure.com:443/", "https://canvas.school.edu:8443"]'
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    registration.refresh_from_db()
    assert registration.frame_origins == ["https://school.instructure.com", "https://canvas.school.edu:8443"]
