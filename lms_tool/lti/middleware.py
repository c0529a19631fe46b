from __future__ import annotations

from collections.abc import Callable

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
