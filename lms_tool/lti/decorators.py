from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from . import hooks
from .errors import LaunchError
from .roles import short_names
from .views_errors import render_error

View = Callable[..., HttpResponse]


def lti_launch_required(view: View) -> View:
    """Refuse requests that do not carry a live launch."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "lti_launch", None) is None:
            return render_error(
                request,
                LaunchError(
                    "launch_required",
                    "Your session with this tool has ended. Go back to your course and open the tool again.",
                    admin_hint="The page was opened without a live launch id (expired after LTI_LAUNCH_TTL_SECONDS, "
                    "or opened outside the platform).",
                    status=401,
                ),
            )
        try:
            hooks.run_page_checks(request.lti_launch)  # type: ignore[attr-defined]
        except LaunchError as error:
            return render_error(request, error)
        return view(request, *args, **kwargs)

    return wrapper


def lti_role_required(*roles: str) -> Callable[[View], View]:
    """Allow only launches whose roles include one of ``roles`` (short names: ``Instructor``, ``Learner``...)."""

    def decorator(view: View) -> View:
        @lti_launch_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not short_names(request.lti_launch.roles) & set(roles):  # type: ignore[attr-defined]
                return render_error(
                    request,
                    LaunchError(
                        "role_forbidden",
                        "This page is not available with your role in this course.",
                        admin_hint=f"Requires one of the roles {sorted(roles)}.",
                        status=403,
                    ),
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
