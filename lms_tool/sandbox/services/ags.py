"""Sandbox platform: Assignment and Grade Services 2.0 (https://www.imsglobal.org/spec/lti-ags/v2p0).

  GET, POST          /courses/<context_id>/lineitems                 line items container (§3.2)
  GET, PUT, DELETE   /courses/<context_id>/lineitems/<id>            one line item (§3.3)
  POST               /courses/<context_id>/lineitems/<id>/scores     a score (§3.4)
  GET                /courses/<context_id>/lineitems/<id>/results    results (§3.5)

Moodle-like platforms give line items URLs of the form ``.../lineitems/<id>/lineitem?type_id=1``,
so a tool must insert ``/scores`` before the query (§3.4: "the line item URL with the path appended
with /scores"). Line item ids and page cursors are mixed-case and looked up exactly: a tool that
changes a URL's case (pylti1p3 lowercases ``Link`` headers) gets a 404 or a 400.

Built on lti1p3platform's ``AssignmentsGradesService`` (line item, score and result handlers); the
bearer token is checked by the platform's config with the scope each operation needs. The library
puts ``next`` in a body; AGS wants a ``Link: <...>; rel="next"`` header, which the lists here send.

The gradebook and the Canvas-like / Moodle-like score rules are in ``ags_book``.

Faults, in ``platform.faults``: ``ags`` a queue of answers for the next AGS requests, each an HTTP
status (500, 401...), ``{"status": 429, "retry_after": "1"}``, ``"reset"`` (the connection is closed
without an answer), ``"reset-after"`` (the request is carried out, then the connection is closed),
``"timeout"`` (carried out after ``ags_timeout_seconds``, default 2); ``ags_down`` (True, or a number
of requests answered 503); ``ags_delay`` (seconds added to every request).
"""

from __future__ import annotations

import inspect
import json
import secrets
import socket
import socketserver
import struct
import time
from typing import Any

import jwt
from lti1p3platform.exceptions import LineItemNotFoundException, LtiException, LtiServiceException
from lti1p3platform.response import Response
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, TPage

from ..platform import ROLE, Course, Platform
from ..web import Req, json_response, route
from .ags_book import (  # noqa: F401 - gradebook, line_item_add and lineitems_url are this module's test API
    check_line_item,
    check_score,
    gradebook,
    is_stale,
    line_item_add,
    line_item_create,
    lineitems_url,
    public,
    result_of,
)

AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
LINEITEM, LINEITEM_READ, RESULT_READ, SCORE = (
    AGS + "lineitem",
    AGS + "lineitem.readonly",
    AGS + "result.readonly",
    AGS + "score",
)
MEDIA_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
Answer = tuple[int, dict[str, str], bytes]


class _Service(AssignmentsGradesService):
    """lti1p3platform's AGS over the in-memory gradebook of one course."""

    def __init__(self, platform: Platform, course: Course, req: Req):
        super().__init__(
            req.lti_request(), platform.config(course.deployment_id), lineitems_url(platform, course.context_id)
        )
        self.platform, self.course, self.book = platform, course, gradebook(platform)

    def _item(self, key: str) -> dict[str, Any]:
        item = self.book.line_items.get(key)
        if item is None or item["_context"] != self.course.context_id:
            raise LineItemNotFoundException(key)
        return item

    def find_lineitems(
        self,
        page: int = 1,
        limit: int | None = None,
        line_item_id: str | None = None,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> TPage:
        wanted = {"resourceLinkId": resource_link_id, "resourceId": resource_id, "tag": tag}
        items = [
            public(i)
            for i in self.book.items_in(self.course.context_id)
            if all(v is None or i.get(k, "") == v for k, v in wanted.items())
        ]
        return {"content": items, "has_next": False}

    def find_lineitem(self, line_item_id: str) -> dict[str, Any]:  # type: ignore[override]
        return public(self._item(line_item_id))

    def create_lineitem(self, creation_data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        check_line_item(creation_data)
        return line_item_create(self.platform, self.course.context_id, dict(creation_data))

    def update_lineitem(self, update_data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        item = self._item(update_data.pop("id"))
        check_line_item(update_data)
        with self.platform.lock:
            item.update({k: v for k, v in update_data.items() if k != "id"})
        return public(item)

    def delete_lineitem(self, line_item_id: str) -> None:
        self._item(line_item_id)
        with self.platform.lock:
            del self.book.line_items[line_item_id]
            for key in [k for k in self.book.results if k[0] == line_item_id]:
                del self.book.results[key]

    def update_score(self, line_item_id: str, score: Any) -> UpdateScoreStatus:
        item = self._item(line_item_id)
        family = self.platform.family
        data = check_score(score, family)
        person = self.course.members.get(data["userId"])
        if person is None or ROLE + "Learner" not in person.roles:
            status = 422 if family == "canvas" else 400
            raise LtiServiceException(f"user {data['userId']!r} is not a student of this course", status)
        with self.platform.lock:
            key = (line_item_id, data["userId"])
            previous = self.book.results.get(key)
            if previous is not None and is_stale(data["_at"], previous["_at"], family):
                if family == "canvas":
                    raise LtiServiceException("timestamp is older than the last score's", 400)
                return UpdateScoreStatus.OLD_TIMESTAMP
            self.book.results[key] = result_of(item, data, family)
            self.book.log.append({**data, "lineItem": item["id"]})
        return UpdateScoreStatus.SUCCESS

    def get_results(
        self, line_item_id: str, page: int = 1, limit: int | None = None, user_id: str | None = None
    ) -> TPage:
        item = self._item(line_item_id)
        rows = [
            public(r)
            for (key, uid), r in self.book.results.items()
            if key == line_item_id and (user_id is None or uid == user_id)
        ]
        return {"content": [{**r, "scoreOf": item["id"]} for r in rows], "has_next": False}


# HTTP ------------------------------------------------------------------------------------------
def _client_socket() -> socket.socket | None:
    """The connection being served: the request handler is a few frames up (wsgiref has no hook)."""
    frame = inspect.currentframe()
    while frame is not None:
        handler = frame.f_locals.get("self")
        if isinstance(handler, socketserver.StreamRequestHandler):
            return handler.connection  # type: ignore[no-any-return]
        frame = frame.f_back
    return None


def _reset() -> Answer:
    sock = _client_socket()
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    return 500, {}, b""  # never reaches the tool: writing to the closed socket fails quietly


def _next_fault(platform: Platform) -> Any:
    with platform.lock:
        faults = platform.faults
        down = faults.get("ags_down")
        if down:
            if down is not True:
                faults["ags_down"] = down - 1
            return 503
        queue = faults.get("ags")
        return queue.pop(0) if queue else None


def ags_route(method: str, pattern: str, scopes: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A route with faults, the course lookup and the bearer-token check in front of the handler."""

    def decorator(handler):  # type: ignore[no-untyped-def]
        def serve(platform: Platform, req: Req) -> Answer:
            delay = platform.faults.get("ags_delay")
            if delay:
                time.sleep(float(delay))
            fault = _next_fault(platform)
            if fault == "reset":
                return _reset()
            if isinstance(fault, int | dict):
                spec = fault if isinstance(fault, dict) else {"status": fault}
                answer = json_response(spec["status"], {"error": "injected fault"})
                if spec.get("retry_after") is not None:
                    answer[1]["Retry-After"] = str(spec["retry_after"])
                return answer
            if fault == "timeout":
                time.sleep(float(platform.faults.get("ags_timeout_seconds", 2)))
            answer = _authorised(platform, req, scopes, handler)
            return _reset() if fault == "reset-after" else answer

        return route(method, pattern)(serve)

    return decorator


def _authorised(platform: Platform, req: Req, scopes: tuple[str, ...], handler: Any) -> Answer:
    course = platform.courses.get(req.match.group("context_id"))
    if course is None:
        return json_response(404, {"error": "no such course"})
    if platform.family == "canvas" and not req.headers.get("User-Agent"):
        return json_response(403, {"error": "a User-Agent header is required"})
    bearer = req.headers.get("Authorization", "").split()
    if len(bearer) != 2 or bearer[0].lower() != "bearer":
        return json_response(401, {"error": "invalid_token", "error_description": "no bearer token"})
    try:
        allowed = platform.config(course.deployment_id).validate_token(bearer[1], list(scopes))
        service = _Service(platform, course, req)
    except (jwt.PyJWTError, LtiException) as exc:  # lti1p3platform lets a bad token's decode error through
        return json_response(401, {"error": "invalid_token", "error_description": str(exc)})
    except ValueError:
        return json_response(400, {"error": "the body is not JSON"})
    if not allowed:
        return json_response(403, {"error": "insufficient_scope", "scope": " ".join(scopes)})
    return handler(service, req)  # type: ignore[no-any-return]


def _render(response: Response) -> Answer:
    if response.code == 204:
        return 204, {}, b""
    if response.code >= 400 or response.result is None:
        return json_response(response.code, {"error": response.message} if response.code >= 400 else {})
    return json_response(response.code, response.result, response.media_type)


def _page(service: _Service, req: Req, items: list[dict[str, Any]], base: str, media: str) -> Answer:
    """One page of a list, with a mixed-case cursor for the next one in a ``Link`` header."""
    book = service.book
    cursor = req.query.get("cursor")
    if cursor is not None and cursor not in book.cursors:
        return json_response(400, {"error": "unknown cursor"})
    offset, query = book.cursors[cursor] if cursor else (0, dict(req.query))
    try:
        limit = int(query.get("limit") or book.page_size)
    except ValueError:
        return json_response(400, {"error": "limit must be a whole number"})
    headers = {"Content-Type": media}
    if offset + limit < len(items):
        token = secrets.token_urlsafe(9)
        with service.platform.lock:
            book.cursors[token] = (offset + limit, query)
        headers["Link"] = f'<{base}?cursor={token}>; rel="next"'
    return 200, headers, json.dumps(items[offset : offset + limit]).encode()


CONTAINER = r"/courses/(?P<context_id>[^/]+)/lineitems"
ITEM = CONTAINER + r"/(?P<item>[^/]+)(?:/lineitem)?"


@ags_route("GET", CONTAINER, (LINEITEM, LINEITEM_READ))
def items_list(service: _Service, req: Req) -> Answer:
    query = (
        dict(service.book.cursors[req.query["cursor"]][1])
        if req.query.get("cursor") in service.book.cursors
        else req.query
    )
    items = service.find_lineitems(
        resource_link_id=query.get("resource_link_id"), resource_id=query.get("resource_id"), tag=query.get("tag")
    )["content"]
    return _page(service, req, items, service.ags.lineitems_url or "", MEDIA_CONTAINER)


@ags_route("POST", CONTAINER, (LINEITEM,))
def item_create(service: _Service, req: Req) -> Answer:
    if not isinstance(service.request.json if service.request else None, dict):
        return json_response(400, {"error": "the body must be a line item object"})
    return _render(service.handle_resp(service.handle_create_lineitem))


@ags_route("GET", ITEM, (LINEITEM, LINEITEM_READ))
def item_get(service: _Service, req: Req) -> Answer:
    return _render(service.handle_resp(service.handle_get_lineitem, line_item_id=req.match.group("item")))


@ags_route("PUT", ITEM, (LINEITEM,))
def item_update(service: _Service, req: Req) -> Answer:
    if not isinstance(service.request.json if service.request else None, dict):
        return json_response(400, {"error": "the body must be a line item object"})
    return _render(service.handle_resp(service.handle_update_lineitem, line_item_id=req.match.group("item")))


@ags_route("DELETE", ITEM, (LINEITEM,))
def item_delete(service: _Service, req: Req) -> Answer:
    return _render(service.handle_resp(service.handle_delete_lineitem, line_item_id=req.match.group("item")))


@ags_route("POST", ITEM + r"/scores", (SCORE,))
def score_post(service: _Service, req: Req) -> Answer:
    if "json" not in req.headers.get("Content-Type", ""):
        return json_response(415, {"error": "scores are application/vnd.ims.lis.v1.score+json"})
    return _render(service.handle_resp(service.handle_update_score, line_item_id=req.match.group("item")))


@ags_route("GET", ITEM + r"/results", (RESULT_READ,))
def results_list(service: _Service, req: Req) -> Answer:
    try:
        rows = service.get_results(req.match.group("item"), user_id=req.query.get("user_id"))["content"]
    except LineItemNotFoundException:
        return json_response(404, {"error": "line item not found"})
    base = service.book.line_items[req.match.group("item")]["id"].split("?")[0] + "/results"
    return _page(service, req, rows, base, MEDIA_RESULTS)
