"""Answers for the moments the database or the cache is unreachable: 503 with ``Retry-After``.

A database or Redis outage surfaces as an exception anywhere in a request (the launch middleware
reads the cache, views read and write the database). Nothing is half-written: the failing statement
or transaction never committed, so the right answer is "briefly unavailable, try again", not a
generic 500. ``server_error`` is the project's ``handler500`` (lti_config/urls.py): it runs for every
uncaught exception, including those raised in middleware, and tells outages apart from bugs.
See docs/production.md, "Outages and queues".
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
MESSAGE = "The tool is briefly unavailable. Nothing was saved from this request; please try again in a minute."


def _outage_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # the embedded default has no Redis client to fail
        pass
    else:
        types += [RedisConnectionError, RedisTimeoutError]
    return tuple(types)


OUTAGE_TYPES = _outage_types()


def is_outage(exc: BaseException | None) -> bool:
    """The database or the cache did not answer (the exception or one it was raised from)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OUTAGE_TYPES):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON in the API's error shape for /api/, a page for people."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"status": 503, "code": "unavailable", "detail": MESSAGE}, status=503)
    else:
        page = loader.get_template("core/unavailable.html").render({"message": MESSAGE, "retry": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an outage answers 503 (logged by Django with the exception); anything else, the 500 page."""
    if is_outage(sys.exc_info()[1]):
        return unavailable(request)
    return HttpResponseServerError(loader.get_template("500.html").render())
