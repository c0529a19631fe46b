"""The instructor's roster page (inside the platform's iframe) and its "Sync now" button."""

from __future__ import annotations

import time
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lms_tool.core.errors import ToolError
from lms_tool.lti.decorators import launch_of, page_redirect, scope_of, staff_page
from lms_tool.lti.models import Context

from . import selectors, services
from .roles import role_label

PER_PAGE = 100


def _context(request: HttpRequest) -> Context:
    """The launch's course (under its registration, checked by the page decorator)."""
    context = scope_of(request).context
    if context is None:
        raise ToolError(
            _("The roster is only available when the tool is opened from a course."),
            admin_hint=_("The launch carried no context claim."),
            status=400,
        )
    return context


@never_cache
@staff_page  # outermost: a refused method answers in words (views_errors.explained)
@require_GET
def roster(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    page = Paginator(selectors.roster_members(context=context), PER_PAGE).get_page(request.GET.get("page"))
    members = [{"membership": m, "roles": role_label(m.roles)} for m in page]
    sync = selectors.roster_sync_get(context=context)
    return render(
        request,
        "roster/roster.html",
        {
            "launch": launch_of(request),
            "context": context,
            "sync": sync,
            "page": page,
            "members": members,
            "requested": _requested(request, sync),
        },
    )


@staff_page  # no cookies inside the iframe: the unguessable launch id in the form is the request's proof
@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    launch = launch_of(request)
    asked_at = str(int(time.time() * 1000))  # before the request: a sync run at once counts as run
    _sync, queued = services.roster_sync_request(context=context, actor_type="user", actor_id=launch.sub)
    return page_redirect("roster:roster", launch, requested="queued" if queued else "already", at=asked_at)


def _requested(request: HttpRequest, sync: Any) -> str:
    """ "queued"/"already" until the sync asked for at ``at`` (ms) has run, "done" once it has, else "".

    Without this the page kept saying a sync was requested long after it had run."""
    requested = request.GET.get("requested", "")
    if requested not in {"queued", "already"}:
        return ""
    at = request.GET.get("at", "")
    attempted = getattr(sync, "last_attempt_at", None)
    if at.isdigit() and attempted is not None and attempted.timestamp() * 1000 >= int(at):
        return "done"
    return requested
