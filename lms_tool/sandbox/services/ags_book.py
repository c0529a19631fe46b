"""The sandbox platform's gradebook and its score rules by family (docs/platforms.md).

Canvas keeps ``scoreGiven`` only for FullyGraded and PendingManual (flagged for a grader), answers 400
to an older timestamp, 400 to ``scoreGiven`` without ``scoreMaximum`` and 422 to a user who is not a
student; Moodle keeps ``scoreGiven`` only when FullyGraded, compares timestamps to the second and
answers 409 to a repeated or older one; other platforms keep the score and answer 409 to an older
timestamp. Line item ids are mixed-case; Moodle-like ones end in ``/lineitem?type_id=1``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lti1p3platform.exceptions import LtiServiceException

from ..platform import Course, Platform

ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"NotReady", "Pending", "PendingManual", "Failed", "FullyGraded"}


@dataclass
class Gradebook:
    page_size: int = 10
    line_items: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> line item (with its context)
    results: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (item id, user id) -> result
    log: list[dict[str, Any]] = field(default_factory=list)  # every score the platform accepted
    cursors: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    created: int = 0

    def item_by_url(self, url: str) -> dict[str, Any] | None:
        return next((i for i in self.line_items.values() if i["id"] == url), None)

    def result(self, line_item_url: str, user_id: str) -> dict[str, Any] | None:
        item = self.item_by_url(line_item_url)
        return self.results.get((item["_key"], user_id)) if item else None

    def items_in(self, context_id: str) -> list[dict[str, Any]]:
        return [i for i in self.line_items.values() if i["_context"] == context_id]


def gradebook(platform: Platform) -> Gradebook:
    return platform.extensions.setdefault("ags", Gradebook())  # type: ignore[no-any-return]


def lineitems_url(platform: Platform, context_id: str) -> str:
    return f"{platform.base_url}/courses/{context_id}/lineitems"


def line_item_add(
    platform: Platform,
    course: Course,
    *,
    label: str,
    score_maximum: float = 10,
    resource_link_id: str = "",
    resource_id: str = "",
    tag: str = "",
    submission_review: dict[str, Any] | None = None,
) -> str:
    """A gradebook column made in the platform (as deep linking or an instructor would); its URL.

    ``submission_review``: the line item's ``submissionReview`` (LTI Submission Review 1.0 §3.1), kept as Moodle
    keeps it (its ``subreviewurl``) and Canvas does, so the gradebook offers graders the tool's review link."""
    data = {
        "label": label,
        "scoreMaximum": score_maximum,
        "resourceLinkId": resource_link_id,
        "resourceId": resource_id,
        "tag": tag,
        "submissionReview": submission_review,
    }
    return str(line_item_create(platform, course.context_id, {k: v for k, v in data.items() if v})["id"])


def line_item_create(platform: Platform, context_id: str, data: dict[str, Any]) -> dict[str, Any]:
    book = gradebook(platform)
    with platform.lock:
        book.created += 1
        key = f"Item{book.created}X{secrets.token_hex(2).upper()}"
        url = f"{lineitems_url(platform, context_id)}/{key}"
        item = {**data, "id": url + ("/lineitem?type_id=1" if platform.family == "moodle" else "")}
        book.line_items[key] = {**item, "_key": key, "_context": context_id}
    return item


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def check_line_item(data: dict[str, Any]) -> None:
    if not isinstance(data.get("label"), str) or not data["label"].strip():
        raise LtiServiceException("label is required", 400)
    maximum = data.get("scoreMaximum")
    if not isinstance(maximum, int | float) or isinstance(maximum, bool) or maximum <= 0:
        raise LtiServiceException("scoreMaximum must be a number above 0", 400)


def check_score(score: Any, family: str) -> dict[str, Any]:
    if not isinstance(score, dict) or not isinstance(score.get("userId"), str):
        raise LtiServiceException("a score needs a userId", 400)
    if score.get("activityProgress") not in ACTIVITY or score.get("gradingProgress") not in GRADING:
        raise LtiServiceException("activityProgress or gradingProgress is missing or unknown", 400)
    try:
        at = datetime.fromisoformat(str(score.get("timestamp")))
    except ValueError as exc:
        raise LtiServiceException("timestamp is not ISO 8601", 400) from exc
    if at.tzinfo is None:
        raise LtiServiceException("timestamp needs a time zone", 400)
    given = score.get("scoreGiven")
    if given is not None and (not isinstance(given, int | float) or given < 0):
        raise LtiServiceException("scoreGiven must be a number of at least 0", 400)
    if given is not None and "scoreMaximum" not in score and family == "canvas":
        raise LtiServiceException("scoreMaximum is required with scoreGiven", 400)
    return {**score, "_at": at}


def is_stale(at: datetime, last: datetime, family: str) -> bool:
    if family == "moodle":  # Moodle keeps whole seconds and refuses a repeated one too
        return int(at.timestamp()) <= int(last.timestamp())
    return at < last


def result_of(item: dict[str, Any], data: dict[str, Any], family: str) -> dict[str, Any]:
    progress = data["gradingProgress"]
    keeps = progress == "FullyGraded" or (progress == "PendingManual" and family != "moodle")
    result: dict[str, Any] = {
        "id": f"{item['id'].split('?')[0]}/results/{data['userId']}",
        "userId": data["userId"],
        "resultMaximum": data.get("scoreMaximum", 1),
        "comment": data.get("comment", ""),
        "_at": data["_at"],
        "_timestamp": data["timestamp"],
        "_grading": progress,
        "_activity": data["activityProgress"],
        "_needs_grading": progress == "PendingManual" and family == "canvas",
    }
    if keeps and data.get("scoreGiven") is not None:
        result["resultScore"] = data["scoreGiven"]
    return result
