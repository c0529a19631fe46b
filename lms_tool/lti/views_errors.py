from __future__ import annotations

import logging
import secrets

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lms_tool.core.errors import ToolError

logger = logging.getLogger("lms_tool.lti")


def render_error(request: HttpRequest, error: ToolError) -> HttpResponse:
    """A page that says what went wrong and what an admin should check; the detail goes to the log."""
    reference = secrets.token_hex(4)
    logger.warning(
        "refused %s %s [%s] %s | admin hint: %s | detail: %s",
        request.method,
        request.path,
        reference,
        getattr(error, "code", error.__class__.__name__),
        error.admin_hint,
        error.detail,
    )
    response = render(
        request,
        "lti/error.html",
        {"error": error, "reference": reference, "code": getattr(error, "code", "")},
        status=error.status,
    )
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response
