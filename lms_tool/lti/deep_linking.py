"""Deep Linking 2.0: the activity-source registry behind the picker, and the signed response.

Apps register what an instructor can embed (``register_activity_source`` in ``AppConfig.ready()``).
The response (LTI DL 2.0 §4.2) is built with pylti1p3's ``DeepLinkResource`` / ``LineItem`` for the
content items, and completed here where pylti1p3 stops (docs/platforms.md, pylti1p3 defect 8): ``msg``/``log``,
``errormsg``/``errorlog`` on cancel, ``data`` echoed only when the request carried it, the platform's
``accept_types`` / ``accept_multiple`` honoured, and the JWT signed with the tool's loaded key
(``keys.sign``) rather than a PEM parsed again for every response (defect 5).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from lms_tool.core import crypto
from lms_tool.core.errors import lazy_format

from . import claims as c
from . import keys
from .errors import LaunchError
from .models import LtiUser
from .selectors import course_member
from .types import LtiLaunch

RESPONSE_TTL_SECONDS = 600


@dataclass(frozen=True)
class ItemWindow:
    """An activity's dates for the platform (DL 2.0 §3.1 ltiResourceLink ``available`` and ``submission``; the
    due date as the column's ``endDateTime``, AGS §3.2.5), all UTC-aware or None."""

    available_start: datetime | None = None
    available_end: datetime | None = None
    submission_start: datetime | None = None
    submission_end: datetime | None = None
    due_at: datetime | None = None


def _iso(value: datetime) -> str:
    # ISO 8601 with an offset, as DL §3.1 asks; UTC spelled Z, as the platforms send theirs.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _span(start: datetime | None, end: datetime | None) -> dict[str, str]:
    return {k: _iso(v) for k, v in (("startDateTime", start), ("endDateTime", end)) if v is not None}


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
    # Offer the platform's graders a link to the learner's submission (LTI Submission Review 1.0) from the
    # gradebook column: the tool's ``submission_review`` page for this activity.
    submission_review: bool = True
    # The activityProgress values at which there is something to review (Submission Review 1.0 §3.1).
    reviewable_status: tuple[str, ...] = ("InProgress", "Submitted", "Completed")
    window: ItemWindow | None = None

    @property
    def activity(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def graded(self) -> bool:
        return self.score_maximum > 0


@dataclass(frozen=True)
class ReviewTable:
    heading: str
    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class SubmissionReview:
    """What a grader sees of one learner's work in one activity (LTI Submission Review 1.0), app-neutral."""

    activity: str
    summary: list[tuple[str, str]]
    tables: list[ReviewTable] = field(default_factory=list)
    empty: str = ""  # said when the learner has nothing to review yet


@dataclass(frozen=True)
class ActivitySource:
    kind: str
    label: str | Promise  # gettext_lazy: shown in the picker in the launch's language
    list_items: Callable[[LtiLaunch], list[PickableItem]]
    open_url: Callable[[LtiLaunch, str], str]
    # (launch, item id, proven) -> the id of the item to open in the launch's course, or None. ``proven``:
    # the link carries the tool's proof for this registration, so an item of another course of the same
    # registration may be copied into this one (an LMS course copy); without it only the course's own items open.
    locate: Callable[[LtiLaunch, str, bool], str | None]
    # (launch, located item id, learner) -> that learner's work in the item, for a Submission Review launch.
    review: Callable[[LtiLaunch, str, LtiUser], SubmissionReview] | None = None


_SOURCES: dict[str, ActivitySource] = {}
PROOF_PARAM = "activity_sig"


def register_activity_source(
    kind: str,
    label: str | Promise,
    list_items: Callable[[LtiLaunch], list[PickableItem]],
    open_url: Callable[[LtiLaunch, str], str],
    locate: Callable[[LtiLaunch, str, bool], str | None],
    review: Callable[[LtiLaunch, str, LtiUser], SubmissionReview] | None = None,
) -> None:
    """Offer ``kind`` items in the picker; a launch of ``activity=kind:id`` opens ``open_url(launch, locate(...))``,
    and a Submission Review launch of it shows ``review(launch, locate(...), learner)``."""
    if ":" in kind:
        raise ValueError("an activity kind cannot contain ':'")
    _SOURCES[kind] = ActivitySource(kind, label, list_items, open_url, locate, review)


def activity_sources() -> list[ActivitySource]:
    return list(_SOURCES.values())


def activity_proof(*, registration_id: int, activity: str) -> str:
    """What the tool signs into a deep-linked link's custom parameters: this registration issued ``activity``.

    It names the registration, not the course, so a course copy inside the same platform keeps it valid, while a
    custom parameter typed by a teacher (Moodle lets them) cannot point at another platform's activity."""
    message = f"{registration_id}:{activity}".encode()
    return hmac.new(crypto.secret_key_for("activity"), message, hashlib.sha256).hexdigest()


def activity_proven(launch: LtiLaunch) -> bool:
    custom = launch.custom
    activity, proof = str(custom.get("activity") or ""), custom.get(PROOF_PARAM)
    if not activity or not isinstance(proof, str):
        return False
    expected = activity_proof(registration_id=launch.registration_id, activity=activity)
    # Bytes: compare_digest refuses non-ASCII str, and a typed custom parameter may hold anything.
    return hmac.compare_digest(proof.encode(), expected.encode())


def _foreign() -> LaunchError:
    # The same page whether the named activity exists anywhere or not: nothing about it is disclosed.
    return LaunchError(
        "activity_foreign",
        _(
            "This activity belongs to another installation of the tool, so it cannot be opened from this course. "
            "Add the activity again with this course's “add activity” (Deep Linking) button."
        ),
        admin_hint=_(
            "The link's custom parameter 'activity' carries no valid proof (activity_sig) that this tool "
            "issued it for this platform registration, and it names no activity of this course."
        ),
        status=404,
    )


def _gone() -> LaunchError:
    return LaunchError(
        "activity_missing",
        _("This activity no longer exists in the tool. Ask your instructor to add it again."),
        admin_hint=_("The link's activity was issued by this tool for this registration, but it has been deleted."),
        status=404,
    )


def _not_reviewable() -> LaunchError:
    # The same answer for an unknown learner, one of another course and an activity out of reach: nothing leaks.
    return LaunchError(
        "submission_missing",
        _("There is no submission of this learner to review for this activity in this course."),
        admin_hint=_(
            "The Submission Review launch's for_user is not a member of the launch's course, or its "
            "custom 'activity' names no activity of this course that can be reviewed."
        ),
        status=404,
    )


def submission_review_of(launch: LtiLaunch) -> SubmissionReview:
    """The work of the launch's ``for_user`` in the launch's activity (LTI Submission Review 1.0 §4), read only
    inside the launch's registration and course; ``LaunchError`` 404 for anything out of reach."""
    if launch.message_type != "LtiSubmissionReviewRequest":
        raise LaunchError(
            "submission_review_only",
            _("This page opens from the gradebook's link to a learner's submission."),
            admin_hint=lazy_format(
                _("Expected an LtiSubmissionReviewRequest launch, got %(message_type)s."),
                message_type=repr(launch.message_type),
            ),
            status=400,
        )
    user_id = str(launch.for_user.get("user_id") or "")
    learner = course_member(launch=launch, sub=user_id) if user_id else None
    kind, _sep, item_id = str(launch.custom.get("activity") or "").partition(":")
    source = _SOURCES.get(kind)
    if learner is None or source is None or source.review is None or not item_id:
        raise _not_reviewable()
    local_id = source.locate(launch, item_id, activity_proven(launch))
    if local_id is None:
        raise _not_reviewable()
    return source.review(launch, local_id, learner)


def activity_open_url(launch: LtiLaunch) -> str | None:
    """Where a resource-link launch goes by its custom ``activity`` parameter ("quiz:12"), or None (no activity).

    Raises ``LaunchError`` for a pointer the launch may not follow (another registration's, or a forged one)."""
    kind, _sep, item_id = str(launch.custom.get("activity") or "").partition(":")
    source = _SOURCES.get(kind)
    if source is None or not item_id:
        return None
    proven = activity_proven(launch)
    local_id = source.locate(launch, item_id, proven)
    if local_id is None:
        raise _gone() if proven else _foreign()
    return source.open_url(launch, local_id)


class DeepLinkingError(LaunchError):
    pass


def _refuse(message: StrOrPromise, hint: StrOrPromise) -> DeepLinkingError:
    return DeepLinkingError("deep_linking_refused", message, admin_hint=hint, status=400)


def content_item(item: PickableItem, *, url: str, registration_id: int) -> dict[str, Any]:
    """An ``ltiResourceLink`` content item with its gradebook column (DL §3.1, "lineItem") and, in its custom
    parameters (DL §3.1, "custom"), the activity and the tool's proof that it issued it for this registration."""
    custom = {**item.custom, "activity": item.activity}
    custom[PROOF_PARAM] = activity_proof(registration_id=registration_id, activity=item.activity)
    resource = DeepLinkResource().set_title(item.title).set_url(url).set_custom_params(custom)
    if item.graded:  # an ungraded activity gets no gradebook column
        line_item = LineItem().set_score_maximum(item.score_maximum).set_label(item.title)  # type: ignore[arg-type]
        if item.resource_id:
            line_item.set_resource_id(item.resource_id)
        if item.tag:
            line_item.set_tag(item.tag)
        resource.set_lineitem(line_item)
    data: dict[str, Any] = dict(resource.to_dict())
    data.pop("target", None)
    if item.graded and item.submission_review and isinstance(data.get("lineItem"), dict):
        # LTI Submission Review 1.0 §3.1 (pylti1p3's LineItem has no such property): the grader's link from
        # the column launches ``url`` as an LtiSubmissionReviewRequest; the tool routes it by message type
        # (lti/views.py DESTINATIONS). Its custom parameters repeat the link's, for platforms that send only
        # these with the review launch.
        data["lineItem"]["submissionReview"] = {
            "reviewableStatus": list(item.reviewable_status),
            "label": "Open in the tool",
            "url": url,
            "custom": dict(custom),
        }
    if item.text:
        data["text"] = item.text
    if item.window is not None:
        _window_put(data, item.window)
    return data


def _window_put(data: dict[str, Any], window: ItemWindow) -> None:
    """The activity's dates into its content item: when it can be opened and when submitted (DL §3.1), and its
    due date as the column's end (a platform that keeps line items' dates shows it in its gradebook)."""
    available = _span(window.available_start, window.available_end)
    submission = _span(window.submission_start, window.submission_end)
    if available:
        data["available"] = available
    if submission:
        data["submission"] = submission
    if window.due_at is not None and isinstance(data.get("lineItem"), dict):
        data["lineItem"]["endDateTime"] = _iso(window.due_at)


def _check_items(settings: dict[str, Any], items: list[PickableItem]) -> None:
    accept_types = settings.get("accept_types") or []
    if items and "ltiResourceLink" not in accept_types:
        raise _refuse(
            _("This course placement cannot receive activities from this tool."),
            lazy_format(
                _("The platform's deep_linking_settings.accept_types is %(types)s; it must include ltiResourceLink."),
                types=repr(accept_types),
            ),
        )
    multiple = settings.get("accept_multiple")
    if len(items) > 1 and multiple not in (True, "true"):
        raise _refuse(
            _("Choose one activity: this course placement accepts only one at a time."),
            _("deep_linking_settings.accept_multiple is false."),
        )


def response_claims(
    *,
    launch: LtiLaunch,
    client_id: str,
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
        "iss": client_id,
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
    content_items = [content_item(item, url=url, registration_id=launch.registration_id) for item in items]
    return _signed(launch, settings, content_items, msg=msg, log=log)


def cancel_build(*, launch: LtiLaunch, errormsg: str, errorlog: str = "") -> SignedResponse:
    """The signed response when the instructor cancels: no items, an ``errormsg`` for them (DL §4.2.3)."""
    return _signed(launch, _settings(launch), [], errormsg=errormsg, errorlog=errorlog)


def _settings(launch: LtiLaunch) -> dict[str, Any]:
    if launch.message_type != "LtiDeepLinkingRequest" or not launch.deep_linking_settings.get("deep_link_return_url"):
        raise _refuse(
            _("This page only answers a deep-linking launch. Open it again from your course."),
            _("The launch is not an LtiDeepLinkingRequest with a deep_link_return_url."),
        )
    return launch.deep_linking_settings


def _signed(launch: LtiLaunch, settings: dict[str, Any], items: list[dict[str, Any]], **text: str) -> SignedResponse:
    # The response's issuer is the client_id the launch was validated against, read from its claims: no database
    # read on the signing path. The page that signs checked the registration is still active (``launch_scope``).
    client_id = launch.client_id
    if client_id is None:  # never a launch this tool validated (lti/launch.py refuses a token without one)
        raise _refuse(
            _("This page only answers a deep-linking launch. Open it again from your course."),
            _("The launch names no client_id (neither azp nor aud)."),
        )
    claims = response_claims(launch=launch, client_id=client_id, content_items=items, **text)
    return SignedResponse(return_url=str(settings["deep_link_return_url"]), jwt=keys.sign(claims), claims=claims)


__all__ = [
    "ActivitySource",
    "ItemWindow",
    "PickableItem",
    "ReviewTable",
    "SignedResponse",
    "SubmissionReview",
    "activity_open_url",
    "activity_proof",
    "activity_proven",
    "activity_sources",
    "cancel_build",
    "register_activity_source",
    "response_build",
    "response_claims",
    "submission_review_of",
]
