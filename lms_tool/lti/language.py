"""The interface's language for each request (docs/translation.md).

The launch's ``locale`` claim wins: the platform knows which language the person chose there, and the
tool's pages sit inside the platform's. Without a launch (error pages before one, the registration pages,
the sandbox), the browser's ``Accept-Language`` decides; else the default (English). No cookie and no
URL prefix: pages live in iframes where cookies may be blocked, and their URLs are the platform's links.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers


def language_from_tag(tag: str) -> str | None:
    """The listed language a BCP 47 tag (``es-MX``, ``es_419``, ``pt-BR``) falls back to, or None."""
    tag = str(tag or "").strip().replace("_", "-").lower()
    if not tag or len(tag) > 35:
        return None
    try:
        return translation.get_supported_language_variant(tag)
    except LookupError:
        return None


def language_of(request: HttpRequest) -> str:
    launch = getattr(request, "lti_launch", None)
    if launch is not None:
        chosen = language_from_tag(launch.locale)
        if chosen:
            return chosen
    accepted = translation.get_language_from_request(request)
    return accepted or settings.LANGUAGE_CODE


class LaunchLanguageMiddleware:
    """Activates the request's language for its templates, messages, numbers and dates."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_of(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        # The launch id is in the URL, so the same URL always answers in the same language; only pages
        # without one vary by the browser's Accept-Language.
        patch_vary_headers(response, ["Accept-Language"])
        response.headers.setdefault("Content-Language", language)
        return response
