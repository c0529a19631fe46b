"""Manual registration: the Canvas developer-key JSON and the Moodle "External tool" values."""

from __future__ import annotations

import requests

from lms_tool.lti import tool_config

from ..conftest import registration_of

# canvas-lms doc/api/lti_dev_key_config.md, "Anatomy of a JSON configuration".
CANVAS_TOP_LEVEL = {
    "title", "description", "oidc_initiation_url", "target_link_uri", "scopes", "extensions",
    "public_jwk", "public_jwk_url", "custom_fields",
}  # fmt: skip
CANVAS_REQUIRED = {"title", "description", "oidc_initiation_url", "target_link_uri"}
CANVAS_SCOPES = {
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://canvas.instructure.com/lti/public_jwk/scope/update",
}
CANVAS_EXTENSION = {"domain", "tool_id", "platform", "privacy_level", "settings"}
CANVAS_PRIVACY_LEVELS = {"anonymous", "public", "name_only", "email_only"}
CANVAS_PLACEMENT = {
    "placement", "message_type", "target_link_uri", "text", "icon_url", "canvas_icon_class",
    "selection_height", "selection_width", "custom_fields", "required_permissions", "enabled",
}  # fmt: skip
CANVAS_MESSAGE_TYPES = {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}


def _canvas_json(tool_url: str) -> dict:
    response = requests.get(f"{tool_url}/lti/config/canvas.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def test_the_canvas_json_has_only_documented_fields_and_all_required_ones(tool_url):
    config = _canvas_json(tool_url)

    assert set(config) <= CANVAS_TOP_LEVEL
    assert set(config) >= CANVAS_REQUIRED
    assert "public_jwk_url" in config or "public_jwk" in config
    assert set(config["scopes"]) <= CANVAS_SCOPES
    (extension,) = config["extensions"]
    assert set(extension) <= CANVAS_EXTENSION
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["privacy_level"] in CANVAS_PRIVACY_LEVELS
    for placement in extension["settings"]["placements"]:
        assert set(placement) <= CANVAS_PLACEMENT
        assert placement["message_type"] in CANVAS_MESSAGE_TYPES


def test_the_canvas_json_points_at_this_tool_and_asks_for_grading_and_roster(tool_url):
    config = _canvas_json(tool_url)

    assert config["oidc_initiation_url"] == f"{tool_url}/lti/login/"
    assert config["target_link_uri"] == f"{tool_url}/lti/launch/"
    assert config["public_jwk_url"] == f"{tool_url}/lti/jwks/"
    assert requests.get(config["public_jwk_url"], timeout=10).json()["keys"]
    assert set(config["scopes"]) == set(tool_config.REQUESTED_SCOPES)
    assert config["extensions"][0]["domain"] == tool_url.split("//", 1)[1]
    assert config["custom_fields"]["canvas_user_sisid"] == "$Canvas.user.sisid"


def test_the_canvas_json_places_the_tool_with_the_right_message_types(tool_url):
    placements = {
        p["placement"]: p["message_type"] for p in _canvas_json(tool_url)["extensions"][0]["settings"]["placements"]
    }

    assert placements == {
        "course_navigation": "LtiResourceLinkRequest",
        "assignment_selection": "LtiDeepLinkingRequest",
        "link_selection": "LtiDeepLinkingRequest",
    }


def test_the_moodle_values_page_is_for_staff_only(client, db):
    response = client.get("/lti/config/moodle/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_moodle_values_page_lists_what_to_paste(admin_client, settings):
    settings.TOOL_BASE_URL = "https://tool.example.edu"

    response = admin_client.get("/lti/config/moodle/")

    text = response.content.decode()
    assert response.status_code == 200
    for value in (
        "https://tool.example.edu/lti/launch/",
        "https://tool.example.edu/lti/login/",
        "https://tool.example.edu/lti/jwks/",
        "https://tool.example.edu/lti/register/",
        "https://tool.example.edu/lti/config/canvas.json",
        "Keyset URL",
        "LTI 1.3",
        "Use this service for grade sync and column management",
        "Use this service to retrieve members&#x27; information as per privacy settings",
    ):
        assert value in text, value


def test_the_config_page_shows_scopes_a_platform_did_not_grant(admin_client, canvas):
    registration = registration_of(canvas)
    registration.scopes = [tool_config.SCOPE_SCORE]
    registration.save()

    text = admin_client.get("/lti/config/").content.decode()

    assert registration.client_id in text
    assert 'data-testid="missing-scopes"' in text
    assert str(tool_config.SCOPE_LABELS[tool_config.SCOPE_NRPS]) in text
