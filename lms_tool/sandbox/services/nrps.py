"""Sandbox platform: Names and Role Provisioning Services 2.0 (https://www.imsglobal.org/spec/lti-nrps/v2p0).

  GET /courses/<context_id>/memberships   the course's membership container, page by page

Query: ``limit`` (page size), ``rlid`` (members of one resource link), ``role`` (a role filter);
``p`` comes from a ``rel="next"`` link and ``since`` from a ``rel="differences"`` link (both opaque,
mixed-case tokens: a tool that changes their case, as pylti1p3 does, gets a 400). Each read is a
snapshot: its pages stay consistent while the course changes, and its differences link answers
what changed since that snapshot (removed members come back with ``status: Deleted``).

Built on lti1p3platform's ``NamesRoleProvisioningService`` (bearer token and scope check, the
container, ``rlid`` check, member cleaning). The library puts ``next`` in the body; NRPS 2.0 §2.4.1
wants a ``Link`` header, so the handler moves it there.

Faults (``platform.faults["nrps"] = {"kind": ..., "page": n}``; ``page`` is 1-based, default 1):
``media-type`` (JSON served as text/html), ``non-json``, ``no-user-id``, ``401``, ``403`` (the
NRPS scope trimmed), ``500``, ``hang`` (``seconds``, default 5, before answering). With ``times``
the fault switches itself off after firing that many times (a platform that recovers).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from lti1p3platform.exceptions import LtiException, LtiServiceException
from lti1p3platform.membership import Context
from lti1p3platform.service_connector import NamesRoleProvisioningService, TPage

from ..platform import Course, Person, Platform
from ..web import Req, json_response, route

MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_LIMIT = 5000
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Read:
    """One read of a course's roster: the members as they were at its first page."""

    context_id: str
    members: list[dict[str, Any]]
    limit: int
    differences: str  # the token of this read's snapshot


@dataclass
class NrpsState:
    default_limit: int = 100
    # (context_id, resource_link_id) -> the user ids with access, or None for everyone in the course.
    links: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)
    pages: dict[str, tuple[Read, int]] = field(default_factory=dict)
    snapshots: dict[str, tuple[str, str | None, int, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    pages_served: int = 0


def state(platform: Platform) -> NrpsState:
    return platform.extensions.setdefault("nrps", NrpsState())  # type: ignore[no-any-return]


def link_add(platform: Platform, course: Course, resource_link_id: str, user_ids: set[str] | None = None) -> None:
    """Make a resource link known to NRPS (``rlid``); ``user_ids`` limits who can access it."""
    with platform.lock:
        state(platform).links[(course.context_id, resource_link_id)] = user_ids


def memberships_url(platform: Platform, course: Course) -> str:
    return f"{platform.base_url}/courses/{course.context_id}/memberships"


def member_json(person: Person) -> dict[str, Any]:
    data: dict[str, Any] = {"user_id": person.user_id, "roles": list(person.roles), "status": person.status}
    for name in ("name", "given_name", "family_name", "email"):
        if getattr(person, name):
            data[name] = getattr(person, name)
    return data


def _token(prefix: str) -> str:
    # Upper- and lower-case letters on purpose: a tool that lowercases the URL loses the page.
    return prefix + secrets.token_urlsafe(12)


class _Service(NamesRoleProvisioningService):
    """The library's NRPS handler over our in-memory course."""

    def __init__(self, req: Req, platform: Platform, course: Course, fault: dict[str, Any] | None):
        self.platform, self.course, self.query, self.fault = platform, course, req.query, fault
        self.read: Read | None = None
        self.page = 1
        get_data: dict[str, Any] = {"limit": 0, "page": 1}
        if "rlid" in req.query and "p" not in req.query:
            get_data["rlid"] = req.query["rlid"]
        super().__init__(req.lti_request(), platform.config(course.deployment_id), memberships_url(platform, course))
        self.request.request["get_data"] = get_data  # type: ignore[union-attr]

    def get_context_by_id(self) -> Context:
        return Context(id=self.course.context_id, label=self.course.label, title=self.course.title)

    def is_resource_link_valid(self, context_id: str, resource_link_id: str) -> bool:
        return (context_id, resource_link_id) in state(self.platform).links

    def get_member_data_page(
        self, page: int = 1, limit: int | None = None, role: str | None = None, since: str | None = None, **kwargs: Any
    ) -> TPage:
        self.read, self.page = _resolve(self.platform, self.course, self.query)
        start = (self.page - 1) * self.read.limit
        content = [dict(m) for m in self.read.members[start : start + self.read.limit]]
        if self.fault and self.fault.get("kind") == "no-user-id" and content:
            content[len(content) // 2].pop("user_id")
        return {"content": content, "has_next": start + self.read.limit < len(self.read.members)}

    def clean_members(self, members: list[Any]) -> list[Any]:
        if self.fault and self.fault.get("kind") == "no-user-id":
            return members  # serve the broken member as a faulty platform would
        return super().clean_members(members)


def _snapshot(platform: Platform, course: Course, rlid: str | None, role: str | None) -> dict[str, dict[str, Any]]:
    allowed = state(platform).links.get((course.context_id, rlid)) if rlid else None
    members = {}
    for person in course.members.values():
        if allowed is not None and person.user_id not in allowed:
            continue
        if role and not any(r == role or r.endswith(("#" + role, "/" + role)) for r in person.roles):
            continue
        members[person.user_id] = member_json(person)
    return members


def _resolve(platform: Platform, course: Course, query: dict[str, str]) -> tuple[Read, int]:
    """The read and page a request asks for: a next-page token, a differences token, or a new read."""
    nrps = state(platform)
    with platform.lock:
        if "p" in query:
            found = nrps.pages.get(query["p"])
            if found is None or found[0].context_id != course.context_id:
                raise LtiServiceException("unknown page token (was the next URL changed, e.g. lowercased?)", 400)
            return found
        rlid, role = query.get("rlid") or None, query.get("role") or None
        try:
            limit = min(max(int(query.get("limit") or nrps.default_limit), 1), MAX_LIMIT)
        except ValueError:
            raise LtiServiceException("limit must be a number", 400) from None
        current = _snapshot(platform, course, rlid, role)
        members = list(current.values())
        if "since" in query:
            old = nrps.snapshots.get(query["since"])
            if old is None or old[0] != course.context_id:
                raise LtiServiceException("unknown differences token (was the URL changed?)", 400)
            _, rlid, limit, previous = old
            current = _snapshot(platform, course, rlid, None)
            members = [m for uid, m in current.items() if previous.get(uid) != m]
            members += [
                {"user_id": uid, "roles": m["roles"], "status": "Deleted"}
                for uid, m in previous.items()
                if uid not in current
            ]
        differences = _token("Df")
        nrps.snapshots[differences] = (course.context_id, rlid, limit, current)
        return Read(course.context_id, members, limit, differences), 1


def _page_number(platform: Platform, query: dict[str, str]) -> int:
    found = state(platform).pages.get(query.get("p", ""))
    return found[1] if found else 1


def _fault(platform: Platform, req: Req) -> dict[str, Any] | None:
    """The fault switched on for this page, if any; one with ``times`` switches itself off after that many."""
    with platform.lock:
        fault = platform.faults.get("nrps")
        if not fault or int(fault.get("page", 1)) != _page_number(platform, req.query):
            return None
        if "times" in fault:
            fault["times"] -= 1
            if fault["times"] <= 0:
                platform.faults.pop("nrps")
        return dict(fault)


def _early_fault(fault: dict[str, Any] | None) -> Answer | None:
    kind = fault.get("kind") if fault else None
    if kind == "hang":
        time.sleep(float(fault.get("seconds", 5)))  # type: ignore[union-attr]
    elif kind == "401":
        return (
            401,
            {"Content-Type": "application/json", "WWW-Authenticate": 'Bearer error="invalid_token"'},
            json.dumps({"error": "invalid_token"}).encode(),
        )
    elif kind == "403":
        return json_response(
            403, {"error": "insufficient_scope", "error_description": "the NRPS scope is not granted to this tool"}
        )
    elif kind == "500":
        return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
    elif kind == "non-json":
        return 200, {"Content-Type": MEDIA_TYPE}, b"<html><body>Down for maintenance</body></html>"
    return None


@route("GET", r"/courses/(?P<context_id>[^/]+)/memberships")
def memberships(platform: Platform, req: Req) -> Answer:
    course = platform.courses.get(req.match.group("context_id"))
    if course is None:
        return json_response(404, {"error": "not_found", "error_description": "no such course"})
    fault = _fault(platform, req)
    early = _early_fault(fault)
    if early is not None:
        return early
    service = _Service(req, platform, course, fault)
    try:
        answer = service.handle_resp(service.handle_get_members)
    except (jwt.PyJWTError, LtiException) as exc:  # lti1p3platform lets a bad token's decode error through
        return json_response(401, {"error": "invalid_token", "error_description": str(exc)})
    if answer.code != 200 or service.read is None:
        return json_response(answer.code, {"error": answer.message})
    return _page_answer(platform, service, answer.result, fault)


def _page_answer(platform: Platform, service: _Service, body: dict[str, Any], fault: dict[str, Any] | None) -> Answer:
    read, base = service.read, memberships_url(platform, service.course)
    assert read is not None
    links = []
    if body.pop("next", None):
        token = _token("Pg")
        with platform.lock:
            state(platform).pages[token] = (read, service.page + 1)
        links.append(f'<{base}?p={token}>; rel="next"')
    links.append(f'<{base}?since={read.differences}>; rel="differences"')
    with platform.lock:
        state(platform).pages_served += 1
    media_type = "text/html; charset=utf-8" if fault and fault.get("kind") == "media-type" else MEDIA_TYPE
    return 200, {"Content-Type": media_type, "Link": ", ".join(links)}, json.dumps(body).encode()
