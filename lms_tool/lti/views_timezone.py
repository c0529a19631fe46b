"""The browser's time zone, reported by ``lti/static/lti/timezone.js`` when the platform sent none."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import timezones
from .decorators import launch_of, tool_page


@tool_page
@never_cache
@require_POST
def timezone_report(request: HttpRequest) -> JsonResponse:
    """``zone=Europe/Paris``: kept for the launch's person. A zone the platform sent still wins (timezones.py)."""
    launch = launch_of(request)
    recorded = timezones.browser_zone_record(launch=launch, name=request.POST.get("zone", ""))
    if recorded is None:
        message = "Send an IANA time zone name, like Europe/Paris."
        return JsonResponse({"code": "bad_zone", "message": message}, status=400)
    shown = timezones.launch_zone(launch)
    return JsonResponse({"zone": shown.name, "source": shown.source})
