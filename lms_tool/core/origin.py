"""Every view runs inside ``core.services.audit_origin``: the audit lines a page, an admin action or an API
call writes record the (truncated) address and user agent it came from."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .services import audit_origin


class RequestOriginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_origin(request):
            return self.get_response(request)
