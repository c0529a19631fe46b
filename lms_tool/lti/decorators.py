"""The one seam every tool page goes through: the launch on the request, its registration, course and membership.

A page decorated with ``tool_page`` (or ``staff_page``) runs only for a live launch whose person is still an
active member of the launch's course (``selectors.launch_scope``); ``staff_page`` also needs a staff role
there (``roles.STAFF``). Apps read the launch with ``launch_of`` / ``scope_of`` / ``user_of`` and build their
links with ``page_url`` / ``page_redirect``, which carry the launch id (pages work in iframes without cookies).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from lms_tool.core import lean
from lms_tool.core.errors import ToolError

from . import roles, selectors
from .errors import LaunchError
from .models import LtiUser
from .types import LtiLaunch
from .views_errors import explained, render_error
from .views_errors import wants_json as wants_json

View = Callable[..., HttpResponse]


class NotFound(ToolError):
    """Missing, or out of the launch's reach: both answer the same, so ids cannot be probed."""

    status = 404
    title = _("Not found")


def launch_of(request: HttpRequest) -> LtiLaunch:
    return request.lti_launch  # type: ignore[attr-defined, no-any-return]


def scope_of(request: HttpRequest) -> selectors.LaunchScope:
    return selectors.launch_scope(launch=launch_of(request))


def user_of(request: HttpRequest, *, whole: bool = True) -> LtiUser:
    """The launch's person. ``whole=False``: for a service that only records who did something, the person's key
    and registration, other fields read on first use (the name and email each cost a decryption)."""
    launch = launch_of(request)
    if not whole and selectors.launch_scope(launch=launch).membership is not None:
        # The scope's one statement found the launch's membership of this person under the launch's registration
        # (selectors.launch_scope): the row is there, so it is not read again.
        return lean.reference(LtiUser, id=launch.user_pk, registration_id=launch.registration_id)
    where = {"id": launch.user_pk, "registration": launch.registration_id}
    user = lean.first(LtiUser, where, without=frozenset() if whole else lean.only(LtiUser, "registration"))
    if user is None:
        raise LtiUser.DoesNotExist(f"no person {launch.user_pk} of registration {launch.registration_id}")
    return user


def page_url(name: str, launch: LtiLaunch | str, *args: Any, **query: str) -> str:
    """The URL of the page ``name`` ("quizzes:take") carrying the launch id."""
    launch_id = launch if isinstance(launch, str) else launch.launch_id
    return reverse(name, args=args) + "?" + urlencode({"launch": launch_id, **query})


def page_redirect(name: str, launch: LtiLaunch | str, *args: Any, **query: str) -> HttpResponseRedirect:
    # 303: after a form POST the browser fetches the next page with GET (RFC 9110 §15.4.4).
    return HttpResponseRedirect(page_url(name, launch, *args, **query), status=303)  # type: ignore[call-arg]


def _launch_required() -> LaunchError:
    return LaunchError(
        "launch_required",
        _("Your session with this tool has ended. Go back to your course and open the tool again."),
        admin_hint=_(
            "The page was opened without a live launch id (idle past LTI_LAUNCH_IDLE_SECONDS or older than LTI_LAUNCH_MAX_SECONDS, "
            "or opened outside the platform)."
        ),
        status=401,
    )


def _launch_expired() -> LaunchError:
    return LaunchError(
        "launch_expired",
        _("Your session with this tool has ended. Go back to your course and open the tool again."),
        admin_hint=_(
            "The request carried a launch id that is no longer kept (idle past LTI_LAUNCH_IDLE_SECONDS or "
            "older than LTI_LAUNCH_MAX_SECONDS). Pages keep unsent work in the browser and send it after a relaunch."
        ),
        status=401,
    )


def _carries_launch_id(request: HttpRequest) -> bool:
    return bool(request.GET.get("launch") or request.headers.get("X-LTI-Launch") or request.POST.get("launch"))


def _role_forbidden() -> LaunchError:
    return LaunchError(
        "role_forbidden",
        _("This page is not available with your role in this course."),
        admin_hint=_(
            "Requires a staff role in the course (Instructor, Teaching Assistant, Content Developer or Administrator)."
        ),
        status=403,
    )


_CODES = {
    400: "bad_request",
    401: "launch_required",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
}


def _answer(request: HttpRequest, error: ToolError) -> HttpResponse:
    page = render_error(request, error)  # logs the refusal, its admin hint and detail
    if wants_json(request):
        # A code a script can act on (launch_expired: keep the work, ask for a relaunch) and the words to show.
        code = getattr(error, "code", "") or _CODES.get(error.status, "refused")
        return JsonResponse(
            {"code": code, "message": error.user_message, "error": error.user_message}, status=error.status
        )
    return page


def tool_page(view: View | None = None, *, staff: bool = False) -> Any:
    """A tool page: a live launch, an active member of its course (and staff, with ``staff=True``).

    CSRF: these pages are framed cross-site, where the CSRF cookie may be blocked. Every request must carry
    the launch id (query, form field or X-LTI-Launch header), a 256-bit secret another site cannot know,
    so it does the CSRF token's job. A ``ToolError`` raised by the view becomes a page (or JSON) in words."""

    def decorate(inner: View) -> View:
        @csrf_exempt
        @xframe_options_exempt
        @functools.wraps(inner)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            launch = getattr(request, "lti_launch", None)
            try:
                if launch is None:
                    raise _launch_expired() if _carries_launch_id(request) else _launch_required()
                selectors.launch_scope(launch=launch)
                if staff and not roles.is_staff(launch.roles):
                    raise _role_forbidden()
                # A page's require_POST answers an empty 405: say in words what to do instead.
                return explained(inner(request, *args, **kwargs), request)
            except ToolError as error:
                return _answer(request, error)

        return wrapper

    return decorate(view) if view is not None else decorate


def staff_page(view: View) -> View:
    return tool_page(view, staff=True)  # type: ignore[no-any-return]


# The names the apps used before the seam; both go through it.
lti_launch_required = tool_page
