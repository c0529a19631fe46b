"""The course home's analytics panel, registered with lti's course home (``course_home.register_home_panel``)."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from lms_tool.lti.types import LtiLaunch

from .overview import course_overview


def overview_panel(request: HttpRequest, launch: LtiLaunch) -> str:
    if launch.context_pk is None:
        return ""
    overview = course_overview(launch=launch, context_pk=launch.context_pk)
    return render_to_string("analytics/home_panel.html", {"launch": launch, "overview": overview}, request=request)
