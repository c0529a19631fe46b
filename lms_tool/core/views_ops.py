"""What the tool's operators watch: `/healthz/detail` (tool administrators) and `/metrics` (the monitoring
network). See docs/production.md, "Health" and "Objectives and alerts"."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import metrics, selectors
from .errors import english
from .services import request_origin

logger = logging.getLogger(__name__)


@require_GET
@never_cache
@staff_member_required  # a Django staff login: LTI course staff and launch ids have no way in (redirected to /admin/login/)
def health_detail(request: HttpRequest) -> HttpResponse:
    """Queues, dead letters, score and roster freshness per registration, generations: JSON for monitoring
    (``?format=json`` or ``Accept: application/json``), a page for people."""
    detail = selectors.health_detail()
    if request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", ""):
        # For monitoring: English whatever the browser asks (docs/translation.md, "What stays English").
        return JsonResponse({**detail, "problems": [english(p) for p in detail["problems"]]})
    return render(request, "core/health_detail.html", {"detail": _for_people(detail)})


def _for_people(detail: dict[str, Any]) -> dict[str, Any]:
    """The page's copy of ``detail``: its ISO times as datetimes, so the page writes them the way the request's
    language writes dates (docs/translation.md, "Numbers and dates follow the language")."""

    def when(iso: str | None) -> datetime | None:
        return datetime.fromisoformat(iso) if iso else None

    return {
        **detail,
        "generated_at": when(detail["generated_at"]),
        "registrations": [
            {
                **r,
                "last_score_posted_at": when(r["last_score_posted_at"]),
                "oldest_roster_sync_at": when(r["oldest_roster_sync_at"]),
            }
            for r in detail["registrations"]
        ],
    }


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    # Behind a reverse proxy on the same host every request comes from loopback: a request a proxy forwarded
    # came from outside, whatever REMOTE_ADDR says, so only the token lets it in.
    if any(name in request.META for name in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")):
        return False
    try:
        address = ipaddress.ip_address(str(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition, for the monitoring network only (METRICS_ALLOWED_NETWORKS, METRICS_TOKEN)."""
    if not _metrics_allowed(request):
        logger.warning(
            "metrics refused to %s: not in METRICS_ALLOWED_NETWORKS and no valid METRICS_TOKEN",
            request_origin(request)["address"] or "an unknown address",
        )
        return HttpResponse(
            "Metrics are served to the monitoring network only: add its network to METRICS_ALLOWED_NETWORKS "
            "or send 'Authorization: Bearer <METRICS_TOKEN>'.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
