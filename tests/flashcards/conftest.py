"""Flashcard fixtures: real launches into the tool; the browser fixtures come from tests/e2e."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from lms_tool.lti import services as lti_services
from lms_tool.lti.models import Context, LtiUser, ResourceLink
from lms_tool.lti.types import LtiLaunch
from lms_tool.sandbox.platform import LaunchSpec, Platform

from ..lti.flow import launch


@pytest.fixture(autouse=True)
def _no_broker_for_scores(settings):  # type: ignore[no-untyped-def]
    """Scores stay in the outbox (tests post them through the grading service themselves)."""
    settings.GRADING_PASSBACK_ENABLED = False


@dataclass
class Launched:
    """A person inside the tool after a real launch: the id their pages carry, and who they are."""

    launch_id: str
    launch: LtiLaunch
    tool_url: str

    @property
    def user(self) -> LtiUser:
        return LtiUser.objects.get(pk=self.launch.user_pk)

    @property
    def context(self) -> Context:
        return Context.objects.get(pk=self.launch.context_pk)

    @property
    def resource_link(self) -> ResourceLink:
        return ResourceLink.objects.get(pk=self.launch.resource_link_pk)

    def url(self, path: str, **query: str) -> str:
        extra = "".join(f"&{k}={v}" for k, v in query.items())
        return f"{self.tool_url}{path}?launch={self.launch_id}{extra}"

    def get(self, path: str, **query: str) -> requests.Response:
        return requests.get(self.url(path, **query), timeout=10)

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
        return requests.post(self.url(path), data={"launch": self.launch_id, **(data or {})}, timeout=10, **kwargs)


def enter(platform: Platform, spec: LaunchSpec, tool_url: str) -> Launched:
    response = launch(platform, spec)
    assert response.status_code == 200, response.text[:500]
    launch_id = parse_qs(urlparse(response.url).query)["launch"][0]
    lti_launch = lti_services.launch_get(launch_id=launch_id)
    assert lti_launch is not None
    return Launched(launch_id, lti_launch, tool_url)


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)
