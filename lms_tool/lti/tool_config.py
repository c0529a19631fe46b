"""What the tool tells a platform about itself: URLs, scopes, messages, claims, custom fields.

One description, three shapes: the Canvas developer-key JSON (canvas-lms
``doc/api/lti_dev_key_config.md``), the values of Moodle's "External tool" form, and the client
registration posted during LTI Dynamic Registration 1.0 (§3.1 and §5, 1EdTech), shaped the way
Canvas (``doc/api/registration.md``: message objects with Canvas placements and extensions) and
Moodle (``registration_helper::registration_to_config``: reads scopes, claims, the deep-linking
message) read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from . import selectors

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
# What grading (AGS line items, scores, results) and the roster (NRPS) need.
REQUESTED_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE, SCOPE_NRPS]
# Shown to people (the registration and config pages): lazy, in the language of the request that shows them.
SCOPE_LABELS = {
    SCOPE_LINEITEM: _("Create and manage gradebook columns (AGS line items)"),
    SCOPE_LINEITEM_READONLY: _("Read gradebook columns (AGS line items, read-only)"),
    SCOPE_RESULT_READONLY: _("Read grades (AGS results)"),
    SCOPE_SCORE: _("Send scores to the gradebook (AGS scores)"),
    SCOPE_NRPS: _("Read the course roster (Names and Role Provisioning)"),
}
# Identity claims the tool asks for (OIDC Core §5.1): names for the roster and the review queue,
# email so instructors recognise learners. Moodle turns name/email sharing on from this list.
CLAIMS = ["iss", "sub", "name", "given_name", "family_name", "email", "locale"]
CLAIM_LABELS = {
    "name": _("Full name"),
    "given_name": _("Given name"),
    "family_name": _("Family name"),
    "email": _("Email address"),
    "locale": _("Language"),
}
CANVAS_PRIVACY_LEVEL = "public"  # Canvas: names and email (doc/api/lti_dev_key_config.md, privacy_level)
CANVAS_TOOL_ID = "lms-tool-ai-quizzes-flashcards"
CANVAS_EXT = "https://canvas.instructure.com/lti/"
# Canvas substitution variables sent as custom parameters (canvas-lms doc/api/tools_variable_substitutions.md).
CANVAS_CUSTOM_FIELDS = {
    "canvas_user_sisid": "$Canvas.user.sisid",
    "canvas_user_id": "$Canvas.user.id",
    "canvas_course_id": "$Canvas.course.id",
    # The person's zone and the assignment's dates (lti/timezones.py, docs/canvas.md "Dates and time zones"):
    # Canvas expands them where an assignment holds the link, and sends the "$..." text unexpanded elsewhere.
    "person_timezone": "$Person.address.timezone",
    "due_at": "$Canvas.assignment.dueAt.iso8601",
    "unlock_at": "$Canvas.assignment.unlockAt.iso8601",
    "lock_at": "$Canvas.assignment.lockAt.iso8601",
}
# Other platforms (Moodle): the LTI 1.3 core substitution for the person's time zone only.
PLAIN_CUSTOM_FIELDS = {"person_timezone": "$Person.address.timezone"}
# What the tool tells a platform (its description and menu labels) stays English: the platform stores it once for
# everyone. The registration page shows them translated (``shown``); gettext_noop marks them for the catalog.
DESCRIPTION = gettext_noop(
    "AI-generated quizzes and FSRS spaced-repetition flashcards, graded back to the gradebook, "
    "with instructor review of AI-produced grades."
)
DEEP_LINK_LABEL = gettext_noop("Add an AI quiz or flashcard deck")


@dataclass(frozen=True)
class Placement:
    canvas: str
    message_type: str
    label: str


# Course navigation opens the activity hub; assignment and link selection open the deep-linking picker.
CANVAS_PLACEMENTS = [
    Placement("course_navigation", "LtiResourceLinkRequest", gettext_noop("Quizzes & Flashcards")),
    Placement("assignment_selection", "LtiDeepLinkingRequest", DEEP_LINK_LABEL),
    Placement("link_selection", "LtiDeepLinkingRequest", DEEP_LINK_LABEL),
]
# Canvas's names of its placements, for the registration page.
PLACEMENT_LABELS = {
    "course_navigation": _("Course navigation"),
    "assignment_selection": _("Assignment selection"),
    "link_selection": _("Link selection"),
}


def shown(text: str) -> str:
    """An English ``text`` the tool sends a platform (DESCRIPTION, a menu label), in the request's language for a
    page; text the catalog does not hold (the tool's title, TOOL_TITLE) is shown as it is."""
    return gettext(text)


@dataclass(frozen=True)
class ToolUrls:
    base: str
    login: str
    launch: str
    jwks: str
    register: str

    @property
    def domain(self) -> str:
        return urlparse(self.base).netloc


def urls(request: HttpRequest | None = None) -> ToolUrls:
    base = selectors.base_url(request)
    tool = selectors.tool_urls(request)
    return ToolUrls(
        base=base,
        login=tool["login"],
        launch=tool["launch"],
        jwks=tool["jwks"],
        register=base + reverse("lti:register"),
    )


def title() -> str:
    return str(settings.TOOL_TITLE)


def canvas_developer_key(tool: ToolUrls) -> dict[str, Any]:
    """The JSON an admin pastes into Canvas (Developer Keys > + LTI Key > Paste JSON)."""
    return {
        "title": title(),
        "description": DESCRIPTION,
        "oidc_initiation_url": tool.login,
        "target_link_uri": tool.launch,
        "scopes": list(REQUESTED_SCOPES),
        "public_jwk_url": tool.jwks,
        "custom_fields": dict(CANVAS_CUSTOM_FIELDS),
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": tool.domain,
                "tool_id": CANVAS_TOOL_ID,
                "privacy_level": CANVAS_PRIVACY_LEVEL,
                "settings": {
                    "text": title(),
                    "placements": [
                        {
                            "placement": p.canvas,
                            "message_type": p.message_type,
                            "target_link_uri": tool.launch,
                            "text": p.label,
                            **(
                                {"selection_height": 700, "selection_width": 900}
                                if p.message_type == "LtiDeepLinkingRequest"
                                else {}
                            ),
                        }
                        for p in CANVAS_PLACEMENTS
                    ],
                },
            }
        ],
    }


def moodle_values(tool: ToolUrls) -> list[tuple[str, str]]:
    """Moodle's "External tool" form (Site administration > Plugins > External tool > Manage tools)."""
    return [
        ("Tool name", title()),
        ("Tool URL", tool.launch),
        ("Tool description", DESCRIPTION),
        ("LTI version", "LTI 1.3"),
        ("Public key type", "Keyset URL"),
        ("Public keyset", tool.jwks),
        ("Initiate login URL", tool.login),
        ("Redirection URI(s)", tool.launch),
        ("Tool configuration usage", "Show in activity chooser and as a preconfigured tool"),
        ("Default launch container", "Embed, without blocks"),
        ("Supports Deep Linking (Content-Item Message)", "Yes (ticked)"),
        ("Content Selection URL", tool.launch),
        ("IMS LTI Assignment and Grade Services", "Use this service for grade sync and column management"),
        (
            "IMS LTI Names and Role Provisioning",
            "Use this service to retrieve members' information as per privacy settings",
        ),
        ("Tool Settings", "Do not use this service"),
        ("Share launcher's name with tool", "Always"),
        ("Share launcher's email with tool", "Always"),
        ("Accept grades from the tool", "Always"),
    ]


def _canvas_messages(tool: ToolUrls, supported: dict[str, set[str]]) -> list[dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    for p in CANVAS_PLACEMENTS:
        if p.canvas not in supported.get(p.message_type, set()):
            continue
        message = messages.setdefault(
            p.message_type,
            {"type": p.message_type, "target_link_uri": tool.launch, "label": p.label, "placements": []},
        )
        message["placements"].append(p.canvas)
        if p.canvas == "course_navigation":
            message[CANVAS_EXT + "course_navigation/default_enabled"] = True
    return list(messages.values())


def _plain_messages(tool: ToolUrls, supported: dict[str, set[str]]) -> list[dict[str, Any]]:
    labels = {"LtiResourceLinkRequest": title(), "LtiDeepLinkingRequest": DEEP_LINK_LABEL}
    return [
        {"type": kind, "target_link_uri": tool.launch, "label": label}
        for kind, label in labels.items()
        if kind in supported
    ]


def client_registration(
    tool: ToolUrls, *, family: str, scopes: list[str], supported: dict[str, set[str]]
) -> dict[str, Any]:
    """The client registration body (LTI Dynamic Registration 1.0 §3.1, OIDC Registration §2)."""
    lti_config: dict[str, Any] = {
        "domain": tool.domain,
        "target_link_uri": tool.launch,
        "description": DESCRIPTION,
        "claims": list(CLAIMS),
        "messages": _canvas_messages(tool, supported) if family == "canvas" else _plain_messages(tool, supported),
    }
    if family != "canvas":
        # Moodle expands it to the person's zone (or "99", its server default: ignored, lti/timezones.py).
        lti_config["custom_parameters"] = dict(PLAIN_CUSTOM_FIELDS)
    if family == "canvas":
        lti_config["custom_parameters"] = dict(CANVAS_CUSTOM_FIELDS)
        lti_config[CANVAS_EXT + "privacy_level"] = CANVAS_PRIVACY_LEVEL
        lti_config[CANVAS_EXT + "tool_id"] = CANVAS_TOOL_ID
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login,
        "redirect_uris": [tool.launch],
        "client_name": title(),
        "jwks_uri": tool.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": lti_config,
    }
