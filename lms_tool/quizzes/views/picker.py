"""The deep-linking picker: the instructor chooses (or creates) activities; the tool answers signed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from lms_tool.lti import deep_linking
from lms_tool.lti.decorators import launch_of, staff_page
from lms_tool.lti.selectors import tool_urls

from ..errors import QuizError


@staff_page
@require_http_methods(["GET", "POST"])
def pick(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    if launch.message_type != "LtiDeepLinkingRequest":
        raise QuizError("The picker opens from your course's \u201cadd activity\u201d (deep linking) only.", status=400)
    sources = [(s, s.list_items(launch)) for s in deep_linking.activity_sources()]
    settings = launch.deep_linking_settings
    multiple = settings.get("accept_multiple") in (True, "true")
    if request.method == "POST":
        if "cancel" in request.POST:
            response = deep_linking.cancel_build(
                launch=launch,
                errormsg="No activity was added: the instructor cancelled.",
                errorlog="deep linking cancelled by the user",
            )
            return _post_back(request, response)
        chosen = set(request.POST.getlist("item"))
        items = [item for _, listed in sources for item in listed if item.activity in chosen]
        if not items:
            raise QuizError("Choose at least one activity to add, or cancel.")
        response = deep_linking.response_build(
            launch=launch,
            items=items,
            url=tool_urls(request)["launch"],
            msg=f"Added {len(items)} activit{'y' if len(items) == 1 else 'ies'}: " + ", ".join(i.title for i in items),
            log=f"deep linking: {', '.join(i.activity for i in items)}",
        )
        return _post_back(request, response)
    return render(
        request,
        "quizzes/pick.html",
        {
            "launch": launch,
            "sources": sources,
            "multiple": multiple,
            "selected": request.GET.get("selected", ""),
            "title": settings.get("title") or "",
        },
    )


def _post_back(request: HttpRequest, response: deep_linking.SignedResponse) -> HttpResponse:
    """The auto-submitting form that carries the signed JWT to the platform (DL §4.2)."""
    return render(request, "quizzes/deep_link_return.html", {"response": response})
