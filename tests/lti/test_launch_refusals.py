"""Every bad launch gets a clear page with the right status, a logged code, and writes nothing.

Driven over real HTTP: the sandbox platform (lti1p3platform) runs the login and signs the launch;
each test changes one thing (a claim before signing, the signature, the state, the cookie, the
platform's JWKS) and posts the launch form the way the browser would. Tables of similar bad inputs
run as subtests of one test, each reported by name, so the suite does not pay a database flush
(the live server needs a transactional database) for every one of them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests
from django.core.cache import cache

from lms_tool.lti import claims as c
from lms_tool.lti import oidc, platform_keys
from lms_tool.lti.models import Deployment, LtiUser, Registration
from lms_tool.sandbox.platform import ROLE, Course, LaunchSpec, Person, Platform, PlatformKey
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform
from . import flow
from .refusal_cases import (
    CLAIM_REFUSALS,
    FORGERIES,
    MALFORMED,
    NOTHING,
    OTHER_TOOL,
    addressed,
    assert_refused,
    claims_of,
    jwks_fetches,
    now,
    rows,
    setting,
)


# Fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def _server() -> Iterator[PlatformServer]:
    # One platform server per module: stopping one costs half a second (serve_forever's poll).
    server = PlatformServer().start()
    yield server
    server.stop()


@pytest.fixture
def platform_server(_server: PlatformServer) -> PlatformServer:
    return _server


@pytest.fixture
def plat(platform_server: PlatformServer, tool_url: str) -> Platform:
    return make_platform(platform_server, tool_url, family="canvas")


@pytest.fixture
def course(plat: Platform) -> Course:
    # A deployment the registration has not seen (its policy accepts new ones): a refused launch
    # that wrote anything would leave a Deployment row behind.
    return plat.add_course("course-101", title="Biology 101", deployment_id="deployment-new")


@pytest.fixture
def student(plat: Platform, course: Course) -> Person:
    return plat.enrol(course, Person("student-1", "Sam Student", "sam@example.edu", [ROLE + "Learner"]))


@pytest.fixture
def instructor(plat: Platform, course: Course) -> Person:
    return plat.enrol(course, Person("instructor-1", "Ada Instructor", "ada@example.edu", [ROLE + "Instructor"]))


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks"


# Login refusals -------------------------------------------------------------------------------
def test_a_login_from_an_unknown_issuer_is_refused(platform_server, tool_url, caplog):
    stranger = make_platform(platform_server, tool_url, family="moodle", register=False)
    course = stranger.add_course("course-9")
    person = stranger.enrol(course, Person("p-1", "Pat", "pat@example.edu", [ROLE + "Learner"]))

    response = requests.get(stranger.login_initiation_url(LaunchSpec(person, course)), timeout=10)

    assert_refused(response, caplog, status=403, code="unknown_registration", before={**NOTHING, "deployments": []})
    assert stranger.issuer in caplog.text


def test_a_login_for_an_unknown_client_id_is_refused(platform_server, tool_url, caplog):
    # The shared Canvas issuer is registered, but for another school's client_id.
    make_platform(platform_server, tool_url, family="canvas", client_id="other-school")
    plat = make_platform(platform_server, tool_url, family="canvas", client_id="tool-client-1", register=False)
    course = plat.add_course("course-9")
    person = plat.enrol(course, Person("p-1", "Pat", "pat@example.edu", [ROLE + "Learner"]))

    response = requests.get(plat.login_initiation_url(LaunchSpec(person, course)), timeout=10)

    assert_refused(response, caplog, status=403, code="unknown_registration")
    assert "'tool-client-1'" in caplog.text


def test_a_login_for_an_inactive_registration_is_refused(plat, course, student, caplog):
    Registration.objects.update(is_active=False)

    response = requests.get(plat.login_initiation_url(LaunchSpec(student, course)), timeout=10)

    assert_refused(response, caplog, status=403, code="unknown_registration")


# Registration and deployment ------------------------------------------------------------------
def test_a_launch_is_refused_when_the_registration_was_deactivated_after_login(plat, course, student, caplog):
    pending = flow.start(plat, LaunchSpec(student, course))
    Registration.objects.update(is_active=False)

    assert_refused(pending.post(), caplog, status=403, code="unknown_registration")


def test_an_unlisted_deployment_is_refused_when_the_registration_accepts_only_listed_ones(
    platform_server, tool_url, caplog
):
    plat = make_platform(platform_server, tool_url, deployment_policy="refuse")
    course = plat.add_course("course-7", deployment_id="deployment-unlisted")
    person = plat.enrol(course, Person("p-1", "Pat", "pat@example.edu", [ROLE + "Learner"]))

    response = flow.launch(plat, LaunchSpec(person, course))

    assert_refused(response, caplog, status=403, code="unknown_deployment")
    assert "deployment-unlisted" in caplog.text


def test_an_inactive_deployment_is_refused(plat, student, caplog):
    course = plat.add_course("course-1", deployment_id="deployment-1")
    plat.enrol(course, student)
    Deployment.objects.update(is_active=False)

    response = flow.launch(plat, LaunchSpec(student, course))

    assert_refused(
        response,
        caplog,
        status=403,
        code="inactive_deployment",
        before={**NOTHING, "deployments": [("deployment-1", False)]},
    )


# Signature and algorithm ----------------------------------------------------------------------
def test_a_forged_signature_is_refused(plat, course, student, caplog, subtests):
    for name, forge, status, code in FORGERIES:
        with subtests.test(name):
            caplog.clear()
            pending = flow.start(plat, LaunchSpec(student, course))

            response = pending.post(id_token=forge(plat, pending.fields["id_token"]))

            assert_refused(response, caplog, status=status, code=code)


def test_a_token_with_a_kid_unknown_even_after_refetching_the_jwks_is_refused(plat, course, student, caplog):
    flow.launch(plat, LaunchSpec(student, course))  # warms the JWKS cache
    before = rows()
    assert jwks_fetches(plat) == 1
    stranger = PlatformKey.generate()
    pending = flow.start(plat, LaunchSpec(student, course))
    claims = claims_of(pending.fields["id_token"])

    response = pending.post(id_token=plat.sign(claims, key=stranger))

    assert_refused(response, caplog, status=401, code="token_unknown_kid", before=before)
    assert jwks_fetches(plat) == 2, "an unknown kid triggers exactly one refetch"


def test_a_burst_of_unknown_kids_refetches_the_jwks_only_once(plat, course, student, caplog):
    flow.launch(plat, LaunchSpec(student, course))
    before = rows()
    for _ in range(3):
        pending = flow.start(plat, LaunchSpec(student, course))
        claims = claims_of(pending.fields["id_token"])
        response = pending.post(id_token=plat.sign(claims, key=PlatformKey.generate()))
        assert_refused(response, caplog, status=401, code="token_unknown_kid", before=before)

    assert jwks_fetches(plat) == 2, "forged kids must not make the tool hammer the platform"


# The platform's JWKS endpoint on a bad day ----------------------------------------------------
def test_a_launch_is_refused_when_the_platform_jwks_answers_badly(plat, course, student, caplog, subtests):
    for fault in ("500", "garbage", "no-keys"):
        with subtests.test(fault=fault):
            caplog.clear()
            cache.clear()  # forget the previous case's failure
            plat.faults["jwks"] = fault

            response = flow.launch(plat, LaunchSpec(student, course))

            assert_refused(response, caplog, status=502, code="platform_jwks_unavailable")
            assert plat.jwks_url in response.text, "the admin hint names the URL to check"


def test_a_launch_is_refused_when_the_platform_jwks_endpoint_is_down(plat, course, student, caplog):
    down = closed_port_url()
    Registration.objects.update(key_set_url=down)

    response = flow.launch(plat, LaunchSpec(student, course))

    assert_refused(response, caplog, status=502, code="platform_jwks_unavailable")
    assert "could not be reached" in response.text


def test_a_jwks_outage_is_not_retried_on_every_launch(plat, course, student, caplog):
    plat.faults["jwks"] = "500"
    assert_refused(flow.launch(plat, LaunchSpec(student, course)), caplog, status=502, code="platform_jwks_unavailable")
    plat.faults.pop("jwks")

    # Within the back-off the tool answers at once instead of waiting on the platform again.
    response = flow.launch(plat, LaunchSpec(student, course))

    assert_refused(response, caplog, status=502, code="platform_jwks_unavailable")
    assert jwks_fetches(plat) == 1


def test_a_launch_refused_for_a_jwks_outage_succeeds_once_the_platform_recovers(
    plat, course, student, caplog, monkeypatch
):
    monkeypatch.setattr(platform_keys, "FAILURE_BACKOFF_SECONDS", 1)
    plat.faults["jwks"] = "garbage"
    pending = flow.start(plat, LaunchSpec(student, course))
    assert_refused(pending.post(), caplog, status=502, code="platform_jwks_unavailable")

    plat.faults.pop("jwks")
    time.sleep(1.1)  # the back-off
    # Nothing was consumed or written by the refusal: the same launch form now goes through.
    response = pending.post()

    assert response.status_code == 200, response.text
    assert LtiUser.objects.filter(sub="student-1").exists()
    assert jwks_fetches(plat) == 2


# Claims ---------------------------------------------------------------------------------------
def test_a_launch_with_bad_claims_is_refused(plat, course, student, instructor, caplog, subtests):
    for case in CLAIM_REFUSALS:
        with subtests.test(case.name):
            caplog.clear()
            person, message_type = (instructor, "LtiDeepLinkingRequest") if case.deep_linking else (student, None)
            spec = LaunchSpec(
                person, course, message_type=message_type or "LtiResourceLinkRequest", claims_hook=case.hook
            )

            response = flow.launch(plat, spec)

            assert_refused(response, caplog, status=case.status, code=case.code)


def test_unusual_but_valid_launches_are_accepted(plat, course, student, subtests):
    accepted = [
        ("several-audiences-with-our-azp", addressed(lambda ours: [OTHER_TOOL, ours], lambda ours: ours)),
        ("within-the-clock-leeway", setting({"iat": now() + 20, "exp": now() - 20})),
        # A far-future exp must not overflow the nonce store's expiry arithmetic.
        ("valid-for-centuries", setting({"exp": 10**15})),
        # Optional claims sent as JSON null are taken as absent.
        ("optional-claims-null", setting({c.CUSTOM: None, c.LAUNCH_PRESENTATION: None, c.TOOL_PLATFORM: None})),
    ]
    for name, hook in accepted:
        with subtests.test(name):
            response = flow.launch(plat, LaunchSpec(student, course, claims_hook=hook))

            assert response.status_code == 200, response.text
            assert "/lti/activity/" in response.url


# Replays and the login state ------------------------------------------------------------------
def test_a_launch_posted_twice_is_refused_the_second_time(plat, course, student, caplog):
    pending = flow.start(plat, LaunchSpec(student, course))
    cookie = {
        oidc.COOKIE_PREFIX + pending.fields["state"]: pending.session.cookies[
            oidc.COOKIE_PREFIX + pending.fields["state"]
        ]
    }
    assert pending.post().status_code == 200
    after_first = rows()

    # The replay carries the browser's cookie too (the tool deleted it: an attacker would keep it).
    replay = pending.session.post(pending.launch_url, data=pending.fields, cookies=cookie, timeout=10)

    assert_refused(replay, caplog, status=400, code="state_unknown", before=after_first)


def test_a_token_replayed_with_the_state_of_a_fresh_login_is_refused(plat, course, student, caplog):
    first = flow.start(plat, LaunchSpec(student, course))
    assert first.post().status_code == 200
    after_first = rows()
    second = flow.start(plat, LaunchSpec(student, course), session=first.session)

    response = second.post(id_token=first.fields["id_token"])

    assert_refused(response, caplog, status=401, code="nonce_mismatch", before=after_first)


def test_a_nonce_is_single_use_even_if_its_state_comes_back(plat, course, student, caplog):
    # Defence in depth (docs/platforms.md, pylti1p3 defect 1): the nonce store refuses a replay on its own, e.g. when a
    # cache failover brought back a state that was already used.
    pending = flow.start(plat, LaunchSpec(student, course))
    state = pending.fields["state"]
    stored = cache.get(oidc.STATE_PREFIX + state)
    cookie = {oidc.COOKIE_PREFIX + state: pending.session.cookies[oidc.COOKIE_PREFIX + state]}
    assert pending.post().status_code == 200
    after_first = rows()
    cache.set(oidc.STATE_PREFIX + state, stored, 600)

    replay = pending.session.post(pending.launch_url, data=pending.fields, cookies=cookie, timeout=10)

    assert_refused(replay, caplog, status=401, code="nonce_replayed", before=after_first)


def test_a_launch_without_state_is_refused(plat, course, student, caplog):
    pending = flow.start(plat, LaunchSpec(student, course))

    assert_refused(pending.post(state=""), caplog, status=400, code="state_missing")


def test_a_launch_with_an_unknown_state_is_refused(plat, course, student, caplog):
    pending = flow.start(plat, LaunchSpec(student, course))

    assert_refused(pending.post(state="state-made-up"), caplog, status=400, code="state_unknown")


def test_a_launch_without_the_state_cookie_is_refused(plat, course, student, caplog):
    pending = flow.start(plat, LaunchSpec(student, course))
    pending.session.cookies.clear()

    assert_refused(pending.post(), caplog, status=400, code="state_mismatch")


def test_a_launch_completed_in_another_browser_is_refused(plat, course, student, caplog):
    victim = flow.start(plat, LaunchSpec(student, course))
    attacker = flow.start(plat, LaunchSpec(student, course))  # its own session and binding cookie
    own_cookie = next(iter(attacker.session.cookies)).value
    # The attacker presents the victim's state under the right cookie name, with its own secret.
    forged = {oidc.COOKIE_PREFIX + victim.fields["state"]: own_cookie}

    response = attacker.session.post(victim.launch_url, data=victim.fields, cookies=forged, timeout=10)

    assert_refused(response, caplog, status=400, code="state_mismatch")


def test_a_launch_posted_from_a_browser_without_any_login_is_refused(plat, course, student, caplog):
    victim = flow.start(plat, LaunchSpec(student, course))

    response = requests.post(victim.launch_url, data=victim.fields, timeout=10)

    assert_refused(response, caplog, status=400, code="state_mismatch")


def test_a_token_from_another_platform_with_this_logins_state_is_refused(plat, course, student, tool_url, caplog):
    other_server = PlatformServer().start()
    try:
        moodle = make_platform(other_server, tool_url, family="moodle", client_id="moodle-client")
        moodle_course = moodle.add_course("m-1", deployment_id="deployment-1")
        moodle_student = moodle.enrol(moodle_course, Person("m-s", "Mo", "mo@example.edu", [ROLE + "Learner"]))
        other = flow.start(moodle, LaunchSpec(moodle_student, moodle_course))
        pending = flow.start(plat, LaunchSpec(student, course))
        before = rows()

        response = pending.post(id_token=other.fields["id_token"])
    finally:
        other_server.stop()

    assert_refused(response, caplog, status=400, code="state_mismatch", before=before)


# Malformed and oversized tokens ---------------------------------------------------------------
def test_a_malformed_id_token_is_refused(plat, course, student, caplog, subtests):
    pending = flow.start(plat, LaunchSpec(student, course))
    for name, id_token, code in MALFORMED:
        with subtests.test(name):
            caplog.clear()

            # Refused before the state is looked at: one login serves every case.
            assert_refused(pending.post(id_token=id_token), caplog, status=400, code=code)


def test_an_oversized_id_token_is_refused_before_parsing(plat, course, student, caplog):
    padding = {"https://example.edu/padding": "x" * (64 * 1024)}
    response = flow.launch(plat, LaunchSpec(student, course, claims_hook=setting(padding)))

    assert_refused(response, caplog, status=413, code="token_too_large")
    assert "LTI_MAX_ID_TOKEN_BYTES" in response.text


def test_the_id_token_size_limit_follows_the_setting(plat, course, student, caplog, settings):
    pending = flow.start(plat, LaunchSpec(student, course))
    settings.LTI = {**settings.LTI, "MAX_ID_TOKEN_BYTES": len(pending.fields["id_token"]) - 1}

    assert_refused(pending.post(), caplog, status=413, code="token_too_large")


def test_a_huge_launch_body_is_refused_without_a_server_error(plat, course, student):
    pending = flow.start(plat, LaunchSpec(student, course))

    response = pending.post(id_token="x" * (3 * 1024 * 1024))

    assert response.status_code in {400, 413}
    assert rows() == NOTHING
