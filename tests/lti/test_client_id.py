"""The client_id a launch was validated against, read back from its claims (lms_tool/lti/types.py), and the
deep-linking response that signs with it (lms_tool/lti/deep_linking.py)."""

from __future__ import annotations

from typing import Any

import pytest

from lms_tool.lti import claims as c
from lms_tool.lti import deep_linking
from lms_tool.lti.deep_linking import DeepLinkingError
from lms_tool.lti.types import LtiLaunch, client_id_of


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"aud": "tool-1"}, "tool-1"),
        ({"aud": ["tool-1"]}, "tool-1"),
        ({"aud": ["other", "tool-1"], "azp": "tool-1"}, "tool-1"),
        ({"aud": "tool-1", "azp": "tool-1"}, "tool-1"),
        ({}, None),
        ({"aud": []}, None),
        ({"aud": ""}, None),
        ({"aud": 7}, None),
        ({"aud": "tool-1", "azp": 7}, None),  # never a validated launch: azp must be one of the audiences
    ],
)
def test_it_reads_the_client_the_token_was_issued_to(claims: dict[str, Any], expected: str | None) -> None:
    assert client_id_of(claims) == expected
    assert LtiLaunch(launch_id="x", claims=claims, registration_id=1, deployment_pk=1, user_pk=1).client_id == expected


def test_a_deep_linking_launch_naming_no_client_is_refused_before_anything_is_signed() -> None:
    settings = {"deep_link_return_url": "https://platform.example/return", "accept_types": ["ltiResourceLink"]}
    launch = LtiLaunch(
        launch_id="x",
        claims={"iss": "https://platform.example", c.MESSAGE_TYPE: "LtiDeepLinkingRequest", c.DL_SETTINGS: settings},
        registration_id=1,
        deployment_pk=1,
        user_pk=1,
    )
    item = deep_linking.PickableItem(kind="quiz", id="1", title="Quiz 1", score_maximum=10)

    with pytest.raises(DeepLinkingError) as refused:
        deep_linking.response_build(launch=launch, items=[item], url="https://tool.example/lti/launch/")

    assert refused.value.status == 400 and "no client_id" in str(refused.value.admin_hint)
