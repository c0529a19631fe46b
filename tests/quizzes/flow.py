"""Real launches from the sandbox platform, then the tool's quiz pages over HTTP with the launch id."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import requests

from lms_tool.lti import services as lti_services
from lms_tool.lti.models import Context, LtiUser
from lms_tool.lti.types import LtiLaunch
from lms_tool.sandbox.platform import LaunchSpec, Platform

from ..lti.flow import launch


@dataclass
class Seat:
    """Someone in the tool after a real launch: their launch id and what the tool recorded."""

    launch_id: str
    lti: LtiLaunch
    session: requests.Session
    landing: str = ""  # the page the launch landed on

    @property
    def context(self) -> Context:
        return Context.objects.get(pk=self.lti.context_pk)

    @property
    def instructor(self) -> LtiUser:
        return LtiUser.objects.get(pk=self.lti.user_pk)


def seat(platform: Platform, spec: LaunchSpec) -> Seat:
    response = launch(platform, spec)
    assert response.status_code == 200, response.text[:500]
    launch_id = parse_qs(urlparse(response.url).query)["launch"][0]
    lti = lti_services.launch_get(launch_id=launch_id)
    assert lti is not None
    return Seat(launch_id, lti, requests.Session(), response.url)


def return_form(page: str) -> tuple[str, dict[str, str]]:
    """The auto-posting form of a deep-linking response page: its action and fields."""
    action = html.unescape(re.search(r'<form id="dl-return" method="post" action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    return action, fields
