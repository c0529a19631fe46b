"""Deep Linking 2.0: the activity-source registry behind the picker, and the signed response.

Apps register what an instructor can embed (``register_activity_source`` in ``AppConfig.ready()``).
The response (LTI DL 2.0 §4.2) is built with pylti1p3's ``DeepLinkResource`` / ``LineItem`` for the
content items, and completed here where pylti1p3 stops (PLATFORMS.md defect 8): ``msg``/``log``,
``errormsg``/``errorlog`` on cancel, ``data`` echoed only when the request carried it, the platform's
``accept_types`` / ``accept_multiple`` honoured, and the JWT signed with the tool's loaded key
(``keys.sign``) rather than a PEM parsed again for every response (defect 5).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from . import claims as c
from . import keys
from .errors import LaunchError
from .models import Registration
from .types import LtiLaunch

RESPONSE_TTL_SECONDS = 600


@dataclass(frozen=True)
class PickableItem:
    kind: str
    id: str
    title: str
    score_maximum: float
    custom: dict[str, str] = field(default_factory=dict)
    resource_id: str = ""
    tag: str = ""
    text: str = ""

    @property
    def activity(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class ActivitySource:
    kind: str
    label: str
    list_items: Callable[[LtiLaunch], list[PickableItem]]
    open_url: Callable[[LtiLaunch, str], str]


_SOURCES: dict[str, ActivitySource] = {}


def register_activity_source(
    kind: str,
    label: str,
    list_items: Callable[[LtiLaunch], list[PickableItem]],
    open_url: Callable[[LtiLaunch, str], str],
) -> None:
    """Offer ``kind`` items in the picker; ``open_url`` is where a launch of ``activity=kind:id`` goes."""
    if ":" in kind:
        raise ValueError("an activity kind cannot contain ':'")
    _SOURCES[kind] = ActivitySource(kind, label, list_items, open_url)


def activity_sources() -> list[ActivitySource]:
    return list(_SOURCES.values())


def activity_open_url(launch: LtiLaunch) -> str | None:
    """Where a resource-link launch goes by its custom ``activity`` parameter ("quiz:12"), or None."""
    kind, _, item_id = str(launch.custom.get("activity") or "").partition(":")
    source = _SOURCES.get(kind)
    if source is None or not item_id:
        return None
    return source.open_url(launch, item_id)


class DeepLinkingError(LaunchError):
    pass


def _refuse(message: str, hint: str) -> DeepLinkingError:
    return DeepLinkingError("deep_linking_refused", message, admin_hint=hint, status=400)


def content_item(item: PickableItem, *, url: str) -> dict[str, Any]:
    """An ``ltiResourceLink`` content item with its gradebook column (DL §3.1, "lineItem")."""
    line_item = LineItem().set_score_maximum(item.score_maximum).set_label(item.title)  # type: ignore[arg-type]
    if item.resource_id:
        line_item.set_resource_id(item.resource_id)
    if item.tag:
        line_item.set_tag(item.tag)
    resource = (
        DeepLinkResource()
        .set_title(item.title)
        .set_url(url)
        .set_custom_params({"activity": item.activity, **item.custom})
        .set_lineitem(line_item)
    )
    data = resource.to_dict()
    data.pop("target", None)
    if item.text:
        data["text"] = item.text
    return data


def _check_items(settings: dict[str, Any], items: list[PickableItem]) -> None:
    accept_types = settings.get("accept_types") or []
    if items and "ltiResourceLink" not in accept_types:
        raise _refuse(
            "This course placement cannot receive activities from this tool.",
            f"The platform's deep_linking_settings.accept_types is {accept_types!r}; it must include ltiResourceLink.",
        )
    multiple = settings.get("accept_multiple")
    if len(items) > 1 and multiple not in (True, "true"):
        raise _refuse(
            "Choose one activity: this course placement accepts only one at a time.",
            "deep_linking_settings.accept_multiple is false.",
        )


def response_claims(
    *,
    launch: LtiLaunch,
    registration: Registration,
    content_items: list[dict[str, Any]],
    msg: str = "",
    log: str = "",
    errormsg: str = "",
    errorlog: str = "",
) -> dict[str, Any]:
    """The claims of an ``LtiDeepLinkingResponse`` (DL 2.0 §4.2) answering ``launch``."""
    now = int(time.time())
    settings = launch.deep_linking_settings
    payload: dict[str, Any] = {
        "iss": registration.client_id,
        "aud": launch.claims.get("iss"),
        "iat": now,
        "exp": now + RESPONSE_TTL_SECONDS,
        "nonce": secrets.token_urlsafe(24),
        c.DEPLOYMENT_ID: launch.claims.get(c.DEPLOYMENT_ID),
        c.MESSAGE_TYPE: "LtiDeepLinkingResponse",
        c.VERSION: "1.3.0",
        c.DL_CONTENT_ITEMS: content_items,
    }
    if "data" in settings:  # §4.2.2: echoed exactly when the request had it, absent otherwise
        payload[c.DL_DATA] = settings["data"]
    for claim, value in ((c.DL_MSG, msg), (c.DL_LOG, log), (c.DL_ERRORMSG, errormsg), (c.DL_ERRORLOG, errorlog)):
        if value:
            payload[claim] = value
    return payload


@dataclass
class SignedResponse:
    return_url: str
    jwt: str
    claims: dict[str, Any]


def response_build(
    *, launch: LtiLaunch, items: list[PickableItem], url: str, msg: str = "", log: str = ""
) -> SignedResponse:
    """The signed response embedding ``items``, to be form-POSTed to the platform's return URL."""
    settings = _settings(launch)
    _check_items(settings, items)
    content_items = [content_item(item, url=url) for item in items]
    return _signed(launch, settings, content_items, msg=msg, log=log)


def cancel_build(*, launch: LtiLaunch, errormsg: str, errorlog: str = "") -> SignedResponse:
    """The signed response when the instructor cancels: no items, an ``errormsg`` for them (DL §4.2.3)."""
    return _signed(launch, _settings(launch), [], errormsg=errormsg, errorlog=errorlog)


def _settings(launch: LtiLaunch) -> dict[str, Any]:
    if launch.message_type != "LtiDeepLinkingRequest" or not launch.deep_linking_settings.get("deep_link_return_url"):
        raise _refuse(
            "This page only answers a deep-linking launch. Open it again from your course.",
            "The launch is not an LtiDeepLinkingRequest with a deep_link_return_url.",
        )
    return launch.deep_linking_settings


def _signed(launch: LtiLaunch, settings: dict[str, Any], items: list[dict[str, Any]], **text: str) -> SignedResponse:
    registration = Registration.objects.get(pk=launch.registration_id)
    claims = response_claims(launch=launch, registration=registration, content_items=items, **text)
    return SignedResponse(return_url=str(settings["deep_link_return_url"]), jwt=keys.sign(claims), claims=claims)


__all__ = [
    "ActivitySource",
    "PickableItem",
    "SignedResponse",
    "activity_open_url",
    "activity_sources",
    "cancel_build",
    "register_activity_source",
    "response_build",
    "response_claims",
]
