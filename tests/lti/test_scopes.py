"""The stored scopes follow what each launch grants, each message type for the scopes it speaks for."""

from __future__ import annotations

import pytest

from lms_tool.lti import claims as c
from lms_tool.lti import tool_config
from lms_tool.sandbox.platform import LaunchSpec

from ..conftest import make_platform, registration_of
from ..quizzes.flow import seat


@pytest.fixture
def moodle(platform_server, tool_url):  # type: ignore[no-untyped-def]
    return make_platform(platform_server, tool_url, family="moodle")


def _moodle_deep_linking(claims):  # type: ignore[no-untyped-def]
    # Moodle's deep-linking request: the AGS claim, no NRPS claim (docs/platforms.md, Moodle).
    claims.pop(c.NRPS, None)
    return claims


def _roster_off(claims):  # type: ignore[no-untyped-def]
    claims.pop(c.NRPS, None)
    return claims


def test_a_moodle_deep_linking_launch_keeps_the_roster_scope_a_plain_launch_granted(moodle, course, instructor):
    seat(moodle, LaunchSpec(instructor, course))
    granted = registration_of(moodle).scopes
    assert tool_config.SCOPE_NRPS in granted

    seat(moodle, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest", claims_hook=_moodle_deep_linking))
    after_deep_linking = registration_of(moodle).scopes
    seat(moodle, LaunchSpec(instructor, course))

    assert after_deep_linking == granted
    assert registration_of(moodle).scopes == granted


def test_a_plain_launch_without_the_roster_claim_takes_the_roster_scope_away(moodle, course, instructor):
    seat(moodle, LaunchSpec(instructor, course))

    seat(moodle, LaunchSpec(instructor, course, claims_hook=_roster_off))

    scopes = registration_of(moodle).scopes
    assert tool_config.SCOPE_NRPS not in scopes and tool_config.SCOPE_SCORE in scopes


def test_a_deep_linking_launch_still_changes_the_grading_scopes(moodle, course, instructor):
    seat(moodle, LaunchSpec(instructor, course))

    def score_only(claims):  # type: ignore[no-untyped-def]
        claims.pop(c.NRPS, None)
        claims[c.AGS_ENDPOINT]["scope"] = [tool_config.SCOPE_SCORE]
        return claims

    seat(moodle, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest", claims_hook=score_only))

    assert registration_of(moodle).scopes == sorted([tool_config.SCOPE_SCORE, tool_config.SCOPE_NRPS])
