"""The deep-linking picker: the instructor chooses (or creates) activities; the tool answers signed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from lms_tool.lti import course_home, picking
from lms_tool.lti.decorators import launch_of, staff_page

from ..errors import QuizError


@staff_page
@require_http_methods(["GET", "POST"])
def pick(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    if launch.message_type != "LtiDeepLinkingRequest":
        raise QuizError(
            gettext_lazy("The picker opens from your course's “add activity” (deep linking) only."), status=400
        )
    if request.method == "POST":
        if "cancel" in request.POST:
            return picking.cancel(request, launch=launch)
        return picking.add_to_course(request, launch=launch, activities=request.POST.getlist("item"))
    settings = launch.deep_linking_settings
    # Drafts are listed beside what can be added, so an unfinished quiz or deck is found again from here.
    drafts = [
        (section, [item for item in items if not item.published])
        for section, items in course_home.course_sections(launch)
    ]
    return render(
        request,
        "quizzes/pick.html",
        {
            "launch": launch,
            "sources": picking.pickable(launch),
            "drafts": [(section, items) for section, items in drafts if items],
            "new": [(section, section.new_url(launch, True)) for section in course_home.sections()],
            "multiple": settings.get("accept_multiple") in (True, "true"),
            "selected": request.GET.get("selected", ""),
            "title": settings.get("title") or "",
        },
    )
