"""Sandbox platform: the Deep Linking return endpoint (LTI DL 2.0 §4.2, as a platform receives it).

  POST /deep-link-return      form field ``JWT``: the tool's signed ``LtiDeepLinkingResponse``

The response is verified with lti1p3platform's ``validate_deeplinking_resp`` (signature against the
tool's JWKS, fetched from its key set URL; message type; accepted content item types), then as a
platform must beyond that library: ``iss`` is the tool's client_id, ``aud`` is this platform, the
deployment is known, and ``data`` is the value this platform put in the request. Accepted
``ltiResourceLink`` items become resource links of the course, and each ``lineItem`` becomes a
gradebook column (``ags.line_item_add``), bound to its new resource link.

Everything received is kept in ``platform.extensions["deep_linking"]`` for tests to read.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from typing import Any

import jwt
from lti1p3platform.exceptions import LtiDeepLinkingResponseException, LtiException

from ..platform import Course, Platform
from ..web import Req, json_response, route
from .ags import line_item_add

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DEPLOYMENT_ID = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class DeepLinkingLog:
    responses: list[dict[str, Any]] = field(default_factory=list)  # each verified response, as received
    links: list[dict[str, Any]] = field(default_factory=list)  # resource links created from content items
    refused: list[str] = field(default_factory=list)  # why a response was refused


def deep_linking_log(platform: Platform) -> DeepLinkingLog:
    return platform.extensions.setdefault("deep_linking", DeepLinkingLog())  # type: ignore[no-any-return]


def _refuse(platform: Platform, reason: str) -> Answer:
    with platform.lock:
        deep_linking_log(platform).refused.append(reason)
    return json_response(400, {"error": "invalid_request", "error_description": reason})


def _course(platform: Platform, deployment_id: str, context_id: str | None) -> Course | None:
    courses = [c for c in platform.courses.values() if c.deployment_id == deployment_id]
    if context_id:
        courses = [c for c in courses if c.context_id == context_id]
    return courses[0] if len(courses) == 1 else None


@route("POST", r"/deep-link-return")
def deep_link_return(platform: Platform, req: Req) -> Answer:
    token = req.form.get("JWT", "")
    if not token:
        return _refuse(platform, "no JWT form field")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return _refuse(platform, f"not a JWT: {exc}")
    deployment_id = str(unverified.get(DEPLOYMENT_ID) or "")
    course = _course(platform, deployment_id, req.query.get("context_id"))
    if course is None:
        return _refuse(platform, f"no single course of deployment {deployment_id!r}")
    try:
        items = platform.config(deployment_id).validate_deeplinking_resp({"JWT": token})
    except (LtiException, LtiDeepLinkingResponseException, jwt.PyJWTError) as exc:
        return _refuse(platform, f"response not verified: {exc}")
    problem = _claims_problem(platform, unverified)
    if problem:
        return _refuse(platform, problem)
    links = [_embed(platform, course, item) for item in items if item.get("type") == "ltiResourceLink"]
    record = {
        "claims": unverified,
        "items": items,
        "course": course.context_id,
        "links": links,
        **{name: unverified.get(DL + name) for name in ("data", "msg", "log", "errormsg", "errorlog")},
    }
    with platform.lock:
        deep_linking_log(platform).responses.append(record)
    return 200, {"Content-Type": "text/html; charset=utf-8"}, _page(record).encode()


def _claims_problem(platform: Platform, claims: dict[str, Any]) -> str | None:
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != platform.client_id:
        return f"iss {claims.get('iss')!r} is not the tool's client_id"
    if platform.issuer not in audiences:
        return f"aud {audience!r} does not name this platform"
    if claims.get("https://purl.imsglobal.org/spec/lti/claim/version") != "1.3.0":
        return "version is not 1.3.0"
    if not claims.get("nonce"):
        return "no nonce"
    data = claims.get(DL + "data")
    if data is not None and not str(data).startswith("dl-data-"):
        return f"data {data!r} is not what this platform sent"
    return None


def _embed(platform: Platform, course: Course, item: dict[str, Any]) -> dict[str, Any]:
    """A resource link for the item, and its gradebook column when the item asks for one."""
    resource_link_id = "dl-" + secrets.token_hex(6)
    link: dict[str, Any] = {
        "resource_link_id": resource_link_id,
        "title": item.get("title") or "",
        "url": item.get("url") or "",
        "custom": dict(item.get("custom") or {}),
        "lineitem_url": None,
    }
    line_item = item.get("lineItem")
    if isinstance(line_item, dict) and line_item.get("scoreMaximum") is not None:
        link["lineitem_url"] = line_item_add(
            platform,
            course,
            label=str(line_item.get("label") or link["title"]),
            score_maximum=float(line_item["scoreMaximum"]),
            resource_link_id=resource_link_id,
            resource_id=str(line_item.get("resourceId") or ""),
            tag=str(line_item.get("tag") or ""),
            submission_review=review if isinstance(review := line_item.get("submissionReview"), dict) else None,
        )
    with platform.lock:
        deep_linking_log(platform).links.append({**link, "course": course.context_id})
    return link


def _page(record: dict[str, Any]) -> str:
    message = record.get("errormsg") or record.get("msg") or f"{len(record['links'])} item(s) added."
    titles = "".join(f"<li>{html.escape(link['title'])}</li>" for link in record["links"])
    return (
        f'<!doctype html><html><body><h1 data-testid="dl-result">{html.escape(str(message))}</h1>'
        f"<ul>{titles}</ul></body></html>"
    )
