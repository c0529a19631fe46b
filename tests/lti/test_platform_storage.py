"""The server side of a cookie-less login and launch (LTI Platform Storage), without a browser.

The browser runs the postMessage scripts in tests/e2e; here the pages' hand-offs are replayed over
HTTP with no cookie jar, to check what the server accepts: the state is consumed once, the secret
read back from storage must match, and the nonce is still checked.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlparse

import requests
from django.core.cache import cache

from lms_tool.lti import oidc
from lms_tool.lti.models import LtiUser
from lms_tool.sandbox.platform import LaunchSpec, login_query

from .flow import error_code, start

_CONFIG = re.compile(r'<script id="lti-storage-config" type="application/json">(.*?)</script>', re.S)
_FORM = re.compile(r'<form[^>]*action="([^"]+)"')
_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _config(response: requests.Response) -> dict:
    match = _CONFIG.search(response.text)
    assert match, response.text[:800]
    return json.loads(match.group(1))


def _fields(text: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _INPUT.findall(text)}


def _login(platform, spec, target="post_message_forwarding") -> tuple[dict, requests.Response]:
    """The login page (no cookies kept: a fresh request each time, as in a blocked iframe)."""
    page = requests.get(login_query(platform.login_initiation_url(spec), lti_storage_target=target), timeout=10)
    assert page.status_code == 200, page.text[:800]
    return _config(page), page


def _authorize(config: dict) -> dict[str, str]:
    auth = requests.get(config["next"], allow_redirects=False, timeout=10)
    assert auth.status_code == 200, auth.text[:500]
    return _fields(auth.text)


def _launch_page(tool_url: str, fields: dict[str, str]) -> requests.Response:
    return requests.post(f"{tool_url}/lti/launch/", data=fields, allow_redirects=False, timeout=10)


def _complete(tool_url: str, fields: dict[str, str], value: str) -> requests.Response:
    data = {**fields, "lti_storage_value": value}
    return requests.post(f"{tool_url}/lti/launch/complete/", data=data, allow_redirects=True, timeout=10)


def test_the_login_answers_a_page_that_stores_the_state_in_the_platform(canvas, course, student):
    config, page = _login(canvas, LaunchSpec(student, course))

    assert config["mode"] == "login" and config["storage"] == "platform"
    assert config["target"] == "post_message_forwarding"
    assert config["key"] == oidc.COOKIE_PREFIX + re.search(r"state=([^&]+)", config["next"]).group(1)
    assert config["next"].startswith(canvas.auth_url)
    assert "platform_storage.js" in page.text
    assert oidc.PROBE_COOKIE in page.cookies and config["key"] in page.cookies  # cookies too, where kept


def test_a_launch_without_cookie_answers_the_page_that_reads_the_state_back(canvas, course, student, tool_url):
    config, _ = _login(canvas, LaunchSpec(student, course))
    fields = _authorize(config)

    page = _launch_page(tool_url, fields)

    assert page.status_code == 200, page.text[:500]
    assert _FORM.search(page.text).group(1) == "/lti/launch/complete/"
    assert _fields(page.text)["id_token"] == fields["id_token"]
    assert _config(page) == {
        "mode": "launch",
        "storage": "platform",
        "target": "post_message_forwarding",
        "key": config["key"],
    }
    assert cache.get(oidc.STATE_PREFIX + fields["state"]) is not None  # nothing consumed yet
    assert not LtiUser.objects.exists()


def test_the_secret_read_back_completes_the_launch_once(canvas, course, student, tool_url):
    config, _ = _login(canvas, LaunchSpec(student, course))
    fields = _authorize(config)

    done = _complete(tool_url, fields, config["value"])
    again = _complete(tool_url, fields, config["value"])

    assert done.status_code == 200, done.text[:500]
    assert "/lti/activity/?launch=" in done.url and 'data-view="learner"' in done.text
    assert again.status_code == 400
    assert error_code(again) == "state_unknown"


def test_a_wrong_secret_is_refused_and_records_nothing(canvas, course, student, tool_url):
    config, _ = _login(canvas, LaunchSpec(student, course))
    fields = _authorize(config)

    response = _complete(tool_url, fields, "not-the-secret")

    assert response.status_code == 400
    assert error_code(response) == "state_mismatch"
    assert not LtiUser.objects.exists()


def test_no_storage_and_no_cookie_says_to_open_a_new_window(canvas, course, student, tool_url):
    config, _ = _login(canvas, LaunchSpec(student, course))

    response = _complete(tool_url, _authorize(config), "")

    assert error_code(response) == "state_mismatch"
    assert "new window" in response.text


def test_the_nonce_is_still_checked(canvas, course, student, tool_url):
    first, _ = _login(canvas, LaunchSpec(student, course))
    second, _ = _login(canvas, LaunchSpec(student, course))
    token_of_first = _authorize(first)["id_token"]
    state_of_second = _authorize(second)["state"]

    response = _complete(tool_url, {"id_token": token_of_first, "state": state_of_second}, second["value"])

    assert response.status_code == 401
    assert error_code(response) == "nonce_mismatch"


def test_where_the_cookie_is_kept_the_launch_goes_straight_through(canvas, course, student):
    session = requests.Session()
    page = session.get(
        login_query(canvas.login_initiation_url(LaunchSpec(student, course)), lti_storage_target="_parent"), timeout=10
    )
    fields = _authorize(_config(page))

    response = session.post(canvas.tool_launch_url, data=fields, timeout=10)

    assert response.status_code == 200, response.text[:500]
    assert "/lti/activity/?launch=" in response.url


def test_a_new_window_keeps_the_state_in_its_own_session_storage(canvas, course, student):
    url = login_query(canvas.login_initiation_url(LaunchSpec(student, course)), tool_window="1")

    config = _config(requests.get(url, timeout=10))

    assert config["storage"] == "window" and config["target"] == ""


def test_the_fallback_link_restarts_the_login_in_a_window_of_its_own(canvas, course, student):
    _, page = _login(canvas, LaunchSpec(student, course))

    link = html.unescape(re.search(r'href="([^"]+)"[^>]*data-testid="open-new-window"', page.text).group(1))

    assert "tool_window=1" in link and "lti_storage_target" not in link
    assert "lti_message_hint=" in link and "login_hint=" in link


def test_a_malformed_storage_target_is_refused(canvas, course, student):
    url = login_query(canvas.login_initiation_url(LaunchSpec(student, course)), lti_storage_target="<script>")

    response = requests.get(url, timeout=10)

    assert response.status_code == 400
    assert error_code(response) == "login_bad_storage_target"


def test_without_storage_target_the_login_still_redirects(canvas, course, student):
    pending = start(canvas, LaunchSpec(student, course))  # asserts the 302 of the cookie flow

    assert pending.post().status_code == 200


def test_cookies_over_https_are_samesite_none_secure_partitioned(canvas, course, student, client):
    url = urlparse(login_query(canvas.login_initiation_url(LaunchSpec(student, course)), lti_storage_target="_parent"))

    response = client.get(f"{url.path}?{url.query}", secure=True, headers={"host": url.netloc})

    assert response.status_code == 200, response.content[:500]
    cookies = [morsel.OutputString() for morsel in response.cookies.values()]
    assert len(cookies) == 2
    for cookie in cookies:
        assert "SameSite=None; Partitioned" in cookie and "Secure" in cookie
