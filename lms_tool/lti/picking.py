"""Answering a deep-linking launch from any page: the chosen activities, signed and posted back (DL 2.0 §4.2).

The picker and every "Publish and add to course" button end here, so publishing and adding is one step: the
page the browser gets is the auto-submitting form that carries the signed response to the platform.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from . import deep_linking
from .selectors import tool_urls
from .types import LtiLaunch


def pickable(launch: LtiLaunch) -> list[tuple[deep_linking.ActivitySource, list[deep_linking.PickableItem]]]:
    return [(source, source.list_items(launch)) for source in deep_linking.activity_sources()]


def add_to_course(request: HttpRequest, *, launch: LtiLaunch, activities: list[str]) -> HttpResponse:
    """The signed response embedding ``activities`` ("quiz:12"), posted back to the platform by the page."""
    chosen = set(activities)
    items = [item for _, listed in pickable(launch) for item in listed if item.activity in chosen]
    if not items:
        raise deep_linking.DeepLinkingError(
            "nothing_picked",
            _("Choose at least one activity to add, or cancel."),
            admin_hint=_("The form named no published activity of this course."),
            detail=f"asked for {sorted(chosen)}",
            status=400,
        )
    response = deep_linking.response_build(
        launch=launch,
        items=items,
        url=tool_urls(request)["launch"],
        msg=f"Added {len(items)} activit{'y' if len(items) == 1 else 'ies'}: " + ", ".join(i.title for i in items),
        log=f"deep linking: {', '.join(i.activity for i in items)}",
    )
    return post_back(request, response)


def cancel(request: HttpRequest, *, launch: LtiLaunch) -> HttpResponse:
    response = deep_linking.cancel_build(
        launch=launch,
        errormsg="No activity was added: the instructor cancelled.",
        errorlog="deep linking cancelled by the user",
    )
    return post_back(request, response)


def post_back(request: HttpRequest, response: deep_linking.SignedResponse) -> HttpResponse:
    """The auto-submitting form that carries the signed JWT to the platform (DL §4.2)."""
    return render(request, "lti/deep_link_return.html", {"response": response})
