"""The course's retention view for staff (docs/analytics.md, "Retention")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lms_tool.lti.decorators import launch_of, staff_page

from . import retention_selectors, risk_selectors


@staff_page
@require_GET
def retention(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    context = risk_selectors.course_of(launch=launch)
    view = retention_selectors.retention_view(context=context)
    return render(
        request,
        "analytics/retention.html",
        {
            "launch": launch,
            "course": context,
            "view": view,
            "chart": retention_selectors.history_chart(view.history),
            "concepts": view.concepts[:30],
            "learners": view.learners[:50],
        },
    )
