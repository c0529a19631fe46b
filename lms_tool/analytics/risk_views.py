"""Staff pages of "Learners who need help": the course's list, its thresholds, "Check now", one learner's page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from lms_tool.lti.decorators import launch_of, page_redirect, staff_page

from . import risk_selectors, risk_services
from .risk_forms import RiskSettingsForm

SHOWN = 200  # the highest risks; a page of thousands of rows helps nobody (the API lists them all)


def _list_page(request: HttpRequest, form: RiskSettingsForm | None = None, status: int = 200) -> HttpResponse:
    launch = launch_of(request)
    context = risk_selectors.course_of(launch=launch)
    settings = risk_selectors.settings_of(context=context)
    page = risk_selectors.risk_list(context=context)
    return render(
        request,
        "analytics/risk_list.html",
        {
            "launch": launch,
            "course": context,
            "page": page,
            "shown": page.at_risk[:SHOWN],
            "form": form or RiskSettingsForm(initial=RiskSettingsForm.initial_of(settings)),
            "refused": status == 400,
            "saved": request.GET.get("saved") == "1",
            "checked": request.GET.get("checked", ""),
        },
        status=status,
    )


@staff_page
@require_GET
def risk_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@staff_page
@require_POST
def risk_settings(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    context = risk_selectors.course_of(launch=launch)
    form = RiskSettingsForm(request.POST)
    if not form.is_valid():
        # The page again with the instructor's input and what to fix beside each field; nothing stored.
        return _list_page(request, form=form, status=400)
    risk_services.risk_settings_update(context=context, data=request.POST, actor_id=launch.sub)
    return page_redirect("analytics:risk", launch, saved="1")


@staff_page
@require_POST
def risk_check(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    context = risk_selectors.course_of(launch=launch)
    queued = risk_services.risk_refresh_request(context=context, actor_id=launch.sub)
    return page_redirect("analytics:risk", launch, checked="queued" if queued else "unavailable")


@staff_page
@require_GET
def risk_learner(request: HttpRequest, user_id: int) -> HttpResponse:
    launch = launch_of(request)
    context = risk_selectors.course_of(launch=launch)
    learner = risk_selectors.learner_in_course(context=context, user_pk=user_id)
    page = risk_selectors.learner_page(context=context, learner=learner)
    return render(request, "analytics/learner.html", {"launch": launch, "course": context, "page": page})
