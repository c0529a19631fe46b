"""The instructor's roster page (inside the platform's iframe) and its "Sync now" button."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from lms_tool.core.errors import ToolError
from lms_tool.lti.decorators import lti_role_required
from lms_tool.lti.models import Context
from lms_tool.lti.views_errors import render_error

from . import selectors, services
from .roles import role_label

STAFF = ("Instructor", "TeachingAssistant", "Administrator")
PER_PAGE = 100


def _context(request: HttpRequest) -> Context | None:
    pk = request.lti_launch.context_pk  # type: ignore[attr-defined]
    return Context.objects.filter(pk=pk).first() if pk else None


def _no_course(request: HttpRequest) -> HttpResponse:
    return render_error(
        request,
        ToolError(
            "The roster is only available when the tool is opened from a course.",
            admin_hint="The launch carried no context claim.",
            status=400,
        ),
    )


@xframe_options_exempt
@never_cache
@require_GET
@lti_role_required(*STAFF)
def roster(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    if context is None:
        return _no_course(request)
    page = Paginator(selectors.roster_members(context=context), PER_PAGE).get_page(request.GET.get("page"))
    members = [{"membership": m, "roles": role_label(m.roles)} for m in page]
    return render(
        request,
        "roster/roster.html",
        {
            "launch": request.lti_launch,  # type: ignore[attr-defined]
            "context": context,
            "sync": selectors.roster_sync_get(context=context),
            "page": page,
            "members": members,
            "requested": request.GET.get("requested"),
        },
    )


@csrf_exempt  # no cookies inside the iframe: the unguessable launch id in the form is the request's proof
@xframe_options_exempt
@require_POST
@lti_role_required(*STAFF)
def sync_now(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    if context is None:
        return _no_course(request)
    launch = request.lti_launch  # type: ignore[attr-defined]
    _, queued = services.roster_sync_request(context=context, actor_type="user", actor_id=launch.sub)
    state = "queued" if queued else "already"
    return HttpResponseRedirect(f"{reverse('roster:roster')}?launch={launch.launch_id}&requested={state}")
