"""Drive a login and launch over real HTTP, the way a browser would (without running scripts)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import requests

from lms_tool.sandbox.platform import LaunchSpec, Platform

_FORM = re.compile(r'<form[^>]*action="([^"]+)"')
_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class PendingLaunch:
    session: requests.Session
    launch_url: str
    fields: dict[str, str]

    def post(self, **overrides: str) -> requests.Response:
        """POST the launch form to the tool (as the platform's auto-submitting form does)."""
        data = {**self.fields, **overrides}
        return self.session.post(self.launch_url, data=data, allow_redirects=True, timeout=10)


def start(platform: Platform, spec: LaunchSpec, session: requests.Session | None = None) -> PendingLaunch:
    """Login initiation at the tool, then the platform's auth endpoint; stop before the launch POST."""
    session = session or requests.Session()
    login = session.get(platform.login_initiation_url(spec), allow_redirects=False, timeout=10)
    assert login.status_code == 302, f"tool login answered {login.status_code}: {login.text[:500]}"
    auth = session.get(login.headers["Location"], allow_redirects=False, timeout=10)
    assert auth.status_code == 200, f"platform auth answered {auth.status_code}: {auth.text[:500]}"
    action = html.unescape(_FORM.search(auth.text).group(1))  # type: ignore[union-attr]
    fields = {name: html.unescape(value) for name, value in _INPUT.findall(auth.text)}
    return PendingLaunch(session, action, fields)


def launch(platform: Platform, spec: LaunchSpec) -> requests.Response:
    return start(platform, spec).post()


def error_code(response: requests.Response) -> str | None:
    match = re.search(r'data-testid="error-code">([^<]*)<', response.text)
    return match.group(1) if match else None
