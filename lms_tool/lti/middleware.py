from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from . import services

LAUNCH_PARAM = "launch"
LAUNCH_HEADER = "HTTP_X_LTI_LAUNCH"


class LtiLaunchMiddleware:
    """Puts the launch a request belongs to on ``request.lti_launch`` (or ``None``), renewed by this use,
    and the origins that may frame its pages on ``request.lti_frame_origins`` (lms_tool/lti/framing.py).

    The launch id travels with the request (query, form field or ``X-LTI-Launch`` header), not in
    a cookie, so the tool's pages keep working inside iframes where third-party cookies are blocked.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        launch_id = request.GET.get(LAUNCH_PARAM) or request.META.get(LAUNCH_HEADER)
        if not launch_id and request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            launch_id = request.POST.get(LAUNCH_PARAM)
        resumed = services.launch_resume(launch_id=launch_id) if launch_id else None
        request.lti_launch = resumed.launch if resumed else None  # type: ignore[attr-defined]
        request.lti_frame_origins = resumed.frame_origins if resumed else []  # type: ignore[attr-defined]
        return self.get_response(request)


# The login and launch answer a platform's cross-site request before any launch exists: they read no session,
# no user, no flash message and no kept launch, and their views are CSRF-exempt (state and nonce protect them,
# docs/security.md). The middlewares that only serve those needs are left out on these paths; every other
# middleware (security headers, framing, language, audit origin) still runs. Measured in docs/benchmarks.md
# (Launch): about a tenth of the pair's CPU.
LEAN_SKIPPED = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "lms_tool.lti.middleware.LtiLaunchMiddleware",
    }
)
LEAN_URL_NAMES = ("lti:login", "lti:launch", "lti:launch_complete")
_SELF = "lms_tool.lti.middleware.LaunchPathsMiddleware"


class LaunchPathsMiddleware:
    """On the login and launch URLs, hands the request to a chain of the middlewares after this one minus
    ``LEAN_SKIPPED``; any other request goes on through the full chain. Sits early in ``MIDDLEWARE`` (after
    the security and framing middlewares, which both chains share)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.lean_response = _lean_chain()
        self._paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._paths is None:
            from django.urls import reverse

            self._paths = frozenset(reverse(name) for name in LEAN_URL_NAMES)
        if request.path not in self._paths:
            return self.get_response(request)
        # What the skipped middlewares would have said for a request without a session or a launch id.
        request.lti_launch = None  # type: ignore[attr-defined]
        request.lti_frame_origins = []  # type: ignore[attr-defined]
        return self.lean_response(request)


def _lean_chain() -> Callable[[HttpRequest], HttpResponse]:
    """Django's own request handling (URL resolution, view middleware, the view) under the middlewares listed
    after this one in ``MIDDLEWARE`` that ``LEAN_SKIPPED`` does not name, built as ``BaseHandler`` builds its
    chain."""
    from django.conf import settings
    from django.core.handlers.base import BaseHandler
    from django.core.handlers.exception import convert_exception_to_response
    from django.utils.module_loading import import_string

    names = list(settings.MIDDLEWARE)
    kept = [name for name in names[names.index(_SELF) + 1 :] if name not in LEAN_SKIPPED]
    handler: Any = BaseHandler()
    handler._view_middleware = []
    handler._template_response_middleware = []
    handler._exception_middleware = []
    chain: Any = convert_exception_to_response(handler._get_response)
    for name in reversed(kept):
        instance = import_string(name)(chain)
        if hasattr(instance, "process_view"):
            handler._view_middleware.insert(0, instance.process_view)
        if hasattr(instance, "process_template_response"):
            handler._template_response_middleware.append(instance.process_template_response)
        if hasattr(instance, "process_exception"):
            handler._exception_middleware.append(instance.process_exception)
        chain = convert_exception_to_response(instance)
    return chain  # type: ignore[no-any-return]
