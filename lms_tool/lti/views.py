"""LTI endpoints: OIDC login, launch, JWKS, and the pages a launch lands on."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import claims as c
from . import keys, oidc, selectors, services
from .decorators import lti_launch_required, lti_role_required
from .errors import LaunchError
from .launch import launch_validate
from .views_errors import render_error


def _cookie_secure(request: HttpRequest) -> bool:
    return request.is_secure()


@csrf_exempt  # a cross-site request from the platform by design; state and nonce protect it
@xframe_options_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    urls = selectors.tool_urls(request)
    try:
        redirect = oidc.login_start(
            params=params.dict(), launch_url=urls["launch"], tool_host=selectors.base_url(request).split("://", 1)[1]
        )
    except LaunchError as error:
        return render_error(request, error)
    response = HttpResponseRedirect(redirect.url)
    secure = _cookie_secure(request)
    response.set_cookie(
        redirect.cookie_name,
        redirect.cookie_value,
        max_age=oidc.settings.LTI["STATE_TTL_SECONDS"],
        httponly=True,
        secure=secure,
        # The launch POST comes back cross-site from the platform: the cookie must be SameSite=None
        # (hence Secure) to be sent with it. Partitioned keeps it usable where third-party cookies
        # are partitioned (CHIPS).
        samesite="None" if secure else "Lax",
    )
    if secure:
        header = response.cookies[redirect.cookie_name].OutputString()
        response.cookies.pop(redirect.cookie_name)
        response.headers["Set-Cookie"] = header + "; Partitioned"
    return response


DESTINATIONS = {
    "LtiResourceLinkRequest": "lti:resource",
    "LtiDeepLinkingRequest": "lti:deep_link",
    "LtiSubmissionReviewRequest": "lti:submission_review",
}


@csrf_exempt
@xframe_options_exempt
@never_cache
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    try:
        validated = launch_validate(
            id_token=request.POST.get("id_token", ""), state=request.POST.get("state", ""), cookies=request.COOKIES
        )
    except LaunchError as error:
        return render_error(request, error)
    lti_launch = services.launch_record(launch=validated)
    destination = reverse(DESTINATIONS[lti_launch.message_type])
    response = HttpResponseRedirect(f"{destination}?launch={lti_launch.launch_id}")
    response.delete_cookie(oidc.COOKIE_PREFIX + request.POST.get("state", ""))
    return response


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@xframe_options_exempt
@lti_launch_required
def resource(request: HttpRequest) -> HttpResponse:
    """Where a resource-link launch lands: the activity, or its management view for staff."""
    launch = request.lti_launch  # type: ignore[attr-defined]
    return render(request, "lti/resource.html", {"launch": launch, "resource_link": launch.resource_link_claim})


@xframe_options_exempt
@lti_role_required("Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator")
def deep_link(request: HttpRequest) -> HttpResponse:
    """Where a deep-linking launch lands: the instructor picks what to embed."""
    launch = request.lti_launch  # type: ignore[attr-defined]
    return render(request, "lti/deep_link.html", {"launch": launch, "settings": launch.deep_linking_settings})


@xframe_options_exempt
@lti_role_required("Instructor", "TeachingAssistant", "Administrator")
def submission_review(request: HttpRequest) -> HttpResponse:
    """Where a grader opens one learner's submission from the platform's gradebook."""
    launch = request.lti_launch  # type: ignore[attr-defined]
    return render(request, "lti/submission_review.html", {"launch": launch, "for_user": launch.claims.get(c.FOR_USER)})
