"""Error pages in words: what happened and what to do, never a class name; JSON for JSON clients.

``render_error`` answers a ``ToolError``; the ``handler40x`` views below are Django's error handlers
(lti_config/urls.py) for what no view of the tool answered: an unknown address (404), a request the
framework refused (400, 403), and a method a page does not take (405, ``methods_allowed``).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from lms_tool.core.errors import ToolError, english

logger = logging.getLogger("lms_tool.lti")


def wants_json(request: HttpRequest) -> bool:
    """A script (fetch, the API, a SIS client) rather than a person's browser: it gets JSON, not a page.

    Besides asking for JSON, only a script can set the ``X-LTI-Launch`` header, and browsers mark a fetch
    with ``Sec-Fetch-Dest: empty`` (Fetch Metadata; a page navigation says ``document`` or ``iframe``)."""
    accept = request.headers.get("Accept", "")
    return (
        ("application/json" in accept and "text/html" not in accept)
        or request.content_type == "application/json"
        or "X-LTI-Launch" in request.headers
        or request.headers.get("Sec-Fetch-Dest") == "empty"
    )


def _answer(request: HttpRequest, error: ToolError, *, code: str, reference: str) -> HttpResponse:
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"error": error.user_message, "code": code or None}, status=error.status)
    else:
        response = render(
            request, "lti/error.html", {"error": error, "reference": reference, "code": code}, status=error.status
        )
    # An error inside the platform's iframe must show there, not as the browser's refusal to frame.
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


def render_error(request: HttpRequest, error: ToolError) -> HttpResponse:
    """A page that says what went wrong and what an admin should check; the detail goes to the log."""
    reference = secrets.token_hex(4)
    code = getattr(error, "code", "") or ""
    logger.warning(
        "refused %s %s [%s] %s | admin hint: %s | detail: %s",
        request.method,
        request.path,
        reference,
        code or error.__class__.__name__,
        english(error.admin_hint),  # the log stays English (docs/translation.md)
        error.detail,
    )
    response = render(
        request,
        "lti/error.html",
        {"error": error, "reference": reference, "code": code},
        status=error.status,
    )
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


class _PageError(ToolError):
    def __init__(self, title: str, user_message: str, *, status: int, admin_hint: str = "") -> None:
        super().__init__(user_message, admin_hint=admin_hint, status=status)
        self.title = title


def _handled(request: HttpRequest, error: _PageError, *, code: str, detail: object = None) -> HttpResponse:
    reference = secrets.token_hex(4)
    # The exception's text stays in the log: Django's resolver puts its internals there.
    logger.info("%s %s answered %s [%s] %s", request.method, request.path, error.status, reference, detail or "")
    return _answer(request, error, code=code, reference=reference)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    error = _PageError(
        _("Page not found"),
        _(
            "There is no page at this address. If you followed a link from your course, go back to the course and "
            "open the activity again; if it still does not open, ask your instructor to check that it is published."
        ),
        status=404,
    )
    return _handled(request, error, code="not_found", detail=exception.__class__.__name__ if exception else "")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    error = _PageError(
        _("The request could not be read"),
        _(
            "The tool received a request it cannot process (for example, one far too large, or from an address "
            "this tool does not serve). Go back to your course and try again."
        ),
        status=400,
        admin_hint=_(
            "The detail is in the tool's log (Django refused the request before any page saw it; "
            "check ALLOWED_HOSTS and the upload limits)."
        ),
    )
    return _handled(request, error, code="bad_request", detail=repr(exception) if exception else "")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    error = _PageError(
        _("Not allowed"),
        _(
            "You cannot open this page with the access you have. Go back to your course and open the tool from "
            "there; if you think you should have access, ask your instructor or platform administrator."
        ),
        status=403,
    )
    return _handled(request, error, code="forbidden", detail=repr(exception) if exception else "")


LAUNCH_PATHS = ("/lti/launch/", "/lti/launch/complete/", "/lti/login/")


def method_not_allowed(request: HttpRequest, allowed: Iterable[str]) -> HttpResponse:
    """405 in words, with the Allow header RFC 9110 §15.5.6 requires."""
    allowed = sorted(set(allowed))
    if request.path in LAUNCH_PATHS:
        error = _PageError(
            _("Open the tool from your course"),
            _(
                "This address is where your course platform signs you in to the tool; it cannot be opened on its "
                "own. Go to your course and open the activity (or the tool in the course menu) from there."
            ),
            status=405,
            admin_hint=_(
                "Register this URL in the platform as the tool's redirect (launch) URL; the platform posts to it. "
                "A browser opening it directly sends %(method)s, which it does not take."
            )
            % {"method": request.method},
        )
    else:
        error = _PageError(
            _("This page cannot be opened this way"),
            _(
                "This address takes the answer of a form, not a visit. Go back to the previous page and use its "
                "button, or open the tool again from your course."
            ),
            status=405,
        )
    response = _handled(request, error, code="method_not_allowed", detail=f"allowed: {', '.join(allowed)}")
    response["Allow"] = ", ".join(allowed)
    return response


def methods_allowed(allowed: list[str]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like Django's ``require_http_methods``, answering a 405 page in words instead of an empty body."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                return method_not_allowed(request, allowed)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def explained(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """An empty 405 from ``require_POST`` and friends, answered in words (other responses unchanged)."""
    if isinstance(response, HttpResponseNotAllowed) and not response.content:
        return method_not_allowed(request, [m.strip() for m in response["Allow"].split(",") if m.strip()])
    return response
