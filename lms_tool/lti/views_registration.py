"""Registering the tool: LTI Dynamic Registration, the Canvas developer-key JSON, Moodle's form values."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from lms_tool.core.services import request_origin

from . import dynamic_registration, selectors, tool_config
from .models import Registration
from .platform_config import RegistrationError
from .views_errors import render_error


def _labelled(scopes: list[str]) -> list[dict[str, Any]]:
    """Each scope with its label (lazy: in the language of the page)."""
    return [{"scope": s, "label": tool_config.SCOPE_LABELS.get(s, s)} for s in scopes]


def _messages_shown(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message types sent to the platform, their labels and Canvas placements in the page's language."""
    return [
        {
            "type": m["type"],
            "label": tool_config.shown(m["label"]),
            "placements": [tool_config.PLACEMENT_LABELS.get(p, p) for p in m.get("placements", [])],
        }
        for m in messages
    ]


# The platform shows this page in a cross-site iframe, where cookies (and so Django's CSRF cookie)
# may be blocked: the single-use pending id in the form is the anti-forgery token instead.
@csrf_exempt
@xframe_options_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, invitation: str | None = None) -> HttpResponse:
    """LTI Dynamic Registration 1.0: confirm (GET), then register (POST); ``invitation`` from the path."""
    tool = tool_config.urls(request)
    try:
        if request.method == "GET":
            pending = dynamic_registration.registration_prepare(
                url=request.GET.get("openid_configuration", ""),
                token=request.GET.get("registration_token", ""),
                tool=tool,
                invitation=invitation,
            )
            return _confirm(request, pending)
        # The invitation checked on GET travels with the pending id, not with this URL.
        outcome = dynamic_registration.registration_finish(
            pending_id=request.POST.get("pending", ""), tool=tool, origin=request_origin(request)
        )
    except RegistrationError as error:
        return render_error(request, error)
    return render(
        request,
        "lti/register_done.html",
        {
            "outcome": outcome,
            "platform": outcome.config,
            "granted": _labelled(outcome.granted or []),
            "trimmed": _labelled(outcome.trimmed),
            "title": tool_config.title(),
        },
    )


def _confirm(request: HttpRequest, pending: dynamic_registration.Pending) -> HttpResponse:
    lti = pending.body[dynamic_registration.TOOL_CONFIGURATION]
    claims = [tool_config.CLAIM_LABELS[c] for c in lti["claims"] if c in tool_config.CLAIM_LABELS]
    return render(
        request,
        "lti/register_confirm.html",
        {
            "pending": pending,
            "action": request.path,
            "open": settings.LTI_DYNAMIC_REGISTRATION_OPEN,
            "platform": pending.config,
            "title": tool_config.title(),
            "description": tool_config.shown(tool_config.DESCRIPTION),
            "scopes": _labelled(pending.scopes),
            "not_offered": _labelled(pending.config.scopes_not_offered()),
            "messages": _messages_shown(lti["messages"]),
            "claims": claims,
            "privacy_level": lti.get(tool_config.CANVAS_EXT + "privacy_level", ""),
        },
    )


@require_GET
def canvas_json(request: HttpRequest) -> JsonResponse:
    """The Canvas developer-key JSON (Developer Keys > + LTI Key > Method: Paste JSON or Enter URL)."""
    response = JsonResponse(
        tool_config.canvas_developer_key(tool_config.urls(request)), json_dumps_params={"indent": 2}
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@staff_member_required
@require_GET
def config_page(request: HttpRequest) -> HttpResponse:
    """For the tool's admin: what to paste into Canvas and Moodle, and what each platform granted."""
    tool = tool_config.urls(request)
    registrations = [
        {
            "registration": r,
            "granted": _labelled(sorted(r.scopes)),
            "missing": _labelled([s for s in tool_config.REQUESTED_SCOPES if s not in r.scopes]),
        }
        for r in Registration.objects.prefetch_related("deployments")
    ]
    return render(
        request,
        "lti/config.html",
        {
            "tool": tool,
            "moodle": tool_config.moodle_values(tool),
            "canvas_json_url": tool.base + reverse("lti:canvas_json"),
            "scopes": _labelled(tool_config.REQUESTED_SCOPES),
            "registrations": registrations,
        },
    )


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """A landing page for admins: the URLs to give a platform."""
    return render(request, "lti/home.html", {"urls": selectors.tool_urls(request)})
