"""LTI endpoints: OIDC login, launch, JWKS, and the pages a launch lands on."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from lms_tool.core import metrics

from . import course_home as home
from . import deep_linking, framing, hooks, keys, oidc, platform_storage, selectors, services
from .decorators import launch_of, page_redirect, staff_page, tool_page
from .errors import LaunchError
from .launch import launch_validate
from .views_errors import methods_allowed, render_error


def _cookie_secure(request: HttpRequest) -> bool:
    # COOKIES_SECURE defaults to on when TOOL_BASE_URL is https, so a TLS proxy that does not
    # forward X-Forwarded-Proto still gets cookies a cross-site iframe can use.
    return request.is_secure() or bool(settings.COOKIES_SECURE)


def _set_cookie(response: HttpResponse, name: str, value: str, *, secure: bool, httponly: bool = True) -> None:
    # The launch POST comes back cross-site from the platform: the cookie must be SameSite=None
    # (hence Secure) to be sent with it. Partitioned keeps it usable where third-party cookies
    # are partitioned (CHIPS). Django 5.2 cannot emit Partitioned; http.cookies writes the
    # SameSite value as given, so the attribute rides on it.
    response.set_cookie(
        name,
        value,
        max_age=settings.LTI["STATE_TTL_SECONDS"],
        httponly=httponly,
        secure=secure,
        samesite="None" if secure else "Lax",
    )
    if secure:
        response.cookies[name]["samesite"] = "None; Partitioned"


@csrf_exempt  # a cross-site request from the platform by design; state and nonce protect it
@xframe_options_exempt
@never_cache
@methods_allowed(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    urls = selectors.tool_urls(request)
    try:
        redirect = oidc.login_start(
            params=params.dict(), launch_url=urls["launch"], tool_host=selectors.base_url(request).split("://", 1)[1]
        )
    except LaunchError as error:
        return render_error(request, error)
    secure = _cookie_secure(request)
    if redirect.storage:
        response = platform_storage.login_page(request, redirect, params=params.dict(), login_url=urls["login"])
        # Readable by the page: tells it whether this browser keeps the tool's cookies here.
        _set_cookie(response, oidc.PROBE_COOKIE, "1", secure=secure, httponly=False)
    else:
        response = HttpResponseRedirect(redirect.url)
    _set_cookie(response, redirect.cookie_name, redirect.cookie_value, secure=secure)
    return response


DESTINATIONS = {
    "LtiResourceLinkRequest": "lti:resource",
    "LtiDeepLinkingRequest": "lti:deep_link",
    "LtiSubmissionReviewRequest": "lti:submission_review",
}


def _launch(request: HttpRequest, cookies: dict[str, str]) -> HttpResponse:
    state = request.POST.get("state", "")
    try:
        validated = launch_validate(id_token=request.POST.get("id_token", ""), state=state, cookies=cookies)
        hooks.run_checks(validated)
    except LaunchError as error:
        metrics.launch_observed(outcome="refused", code=error.code)
        return render_error(request, error)
    lti_launch = services.launch_record(launch=validated, posted_from=framing.posted_from(request))
    metrics.launch_observed(outcome="launched")
    destination = reverse(DESTINATIONS[lti_launch.message_type])
    response = HttpResponseRedirect(f"{destination}?launch={lti_launch.launch_id}")
    response.delete_cookie(oidc.COOKIE_PREFIX + state)
    return response


@csrf_exempt
@xframe_options_exempt
@never_cache
@methods_allowed(["POST"])  # a GET (someone opening the URL) gets a page saying to open the tool from the course
def launch(request: HttpRequest) -> HttpResponse:
    state = request.POST.get("state", "")
    if oidc.COOKIE_PREFIX + state not in request.COOKIES:
        # No state cookie: if the login kept its secret in platform (or window) storage, answer the
        # page that reads it back; it posts to ``launch_complete``. Nothing is consumed here.
        stored = oidc.state_peek(state=state)
        if stored and stored.get("storage"):
            return platform_storage.launch_page(request, stored, state=state)
    return _launch(request, request.COOKIES)


@csrf_exempt  # posted by the tool's own launch page inside the platform's iframe, without cookies
@xframe_options_exempt
@never_cache
@methods_allowed(["POST"])
def launch_complete(request: HttpRequest) -> HttpResponse:
    """The launch, with the state's secret read back from storage instead of a cookie."""
    state = request.POST.get("state", "")
    cookies = oidc.storage_bindings(
        state=state, value=request.POST.get("lti_storage_value", ""), cookies=request.COOKIES
    )
    return _launch(request, cookies)


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@tool_page
def resource(request: HttpRequest) -> HttpResponse:
    """Where a resource-link launch lands: the embedded activity (custom ``activity=quiz:12``), else a welcome.

    The activity opens only inside the launch's course: a pointer another installation of the tool issued (or
    one typed into the link's custom parameters) is refused, one to another course of this registration opens
    that course's own copy (``deep_linking.activity_open_url``)."""
    launch = launch_of(request)
    destination = deep_linking.activity_open_url(launch)
    if destination:
        return HttpResponseRedirect(destination)
    if launch.is_staff and launch.context_pk is not None:
        return _course_home(request)
    return render(request, "lti/resource.html", {"launch": launch, "resource_link": launch.resource_link_claim})


@staff_page
@require_GET
def course_home(request: HttpRequest) -> HttpResponse:
    """The staff landing page: the course's quizzes and decks, drafts included, and how to make new ones."""
    return _course_home(request)


def _course_home(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    if launch.context_pk is None:
        raise LaunchError(
            "course_required",
            _("This page lists a course's activities; open the tool from inside a course."),
            admin_hint=_("The launch carried no context claim."),
            status=400,
        )
    picking = launch.message_type == "LtiDeepLinkingRequest"
    sections = [
        {"section": section, "items": items, "new_url": section.new_url(launch, picking)}
        for section, items in home.course_sections(launch)
    ]
    return render(
        request,
        "lti/course_home.html",
        {
            "launch": launch,
            "sections": sections,
            "resource_link": launch.resource_link_claim,
            "picking": picking,
            "panels": home.home_panels(request, launch),
        },
    )


@staff_page
def deep_link(request: HttpRequest) -> HttpResponse:
    """Where a deep-linking launch lands: the picker of every registered activity source (quizzes, decks)."""
    return page_redirect("quizzes:pick", launch_of(request))


@staff_page
@require_GET
def submission_review(request: HttpRequest) -> HttpResponse:
    """Where a grader lands from the platform's gradebook (LTI Submission Review 1.0): one learner's work in the
    launch's activity, read within the launch's registration and course (``deep_linking.submission_review_of``)."""
    launch = launch_of(request)
    review = deep_linking.submission_review_of(launch)
    return render(
        request, "lti/submission_review.html", {"launch": launch, "for_user": launch.for_user, "review": review}
    )
