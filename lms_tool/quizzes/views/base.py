"""What every quiz page shares: the launch travels with the request, errors become clear pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from lms_tool.core.errors import ToolError
from lms_tool.lti.decorators import lti_launch_required, lti_role_required
from lms_tool.lti.types import LtiLaunch
from lms_tool.lti.views_errors import render_error

STAFF_ROLES = ("Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator")
View = Callable[..., HttpResponse]


def launch_of(request: HttpRequest) -> LtiLaunch:
    return request.lti_launch  # type: ignore[attr-defined, no-any-return]


def url(name: str, launch: LtiLaunch, *args: Any, **query: str) -> str:
    """A URL of this app that carries the launch (pages work in iframes without cookies)."""
    return reverse(f"quizzes:{name}", args=args) + "?" + urlencode({"launch": launch.launch_id, **query})


def redirect(name: str, launch: LtiLaunch, *args: Any, **query: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(url(name, launch, *args, **query))


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.content_type == "application/json"


def _page(view: View) -> View:
    # CSRF: these pages are framed cross-site, where the CSRF cookie may be blocked. Every request
    # must carry the launch id (query, form field or X-LTI-Launch header), a 256-bit secret another
    # site cannot know, so it does the CSRF token's job; the launch decorators refuse requests without it.
    @csrf_exempt
    @xframe_options_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ToolError as error:  # QuizError, and the deep-linking and grading refusals
            if wants_json(request):
                return JsonResponse({"error": error.user_message}, status=error.status)
            return render_error(request, error)

    return wrapper


def staff_page(view: View) -> View:
    return _page(lti_role_required(*STAFF_ROLES)(view))


def learner_page(view: View) -> View:
    return _page(lti_launch_required(view))
