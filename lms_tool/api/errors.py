"""One error shape for every API answer >= 400: ``{"status", "code", "detail", "errors"?}``.

``errors`` maps each bad field to its messages (400), so an SIS developer sees what to fix.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lms_tool.core.errors import ToolError, english

logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ToolError):
        logger.info("API refused: %s (%s)", english(exc.user_message), exc.detail)
        body: dict[str, Any] = {"status": exc.status, "code": "refused", "detail": exc.user_message}
        field = getattr(exc, "field", None)
        if field:
            body |= {"code": "invalid", "errors": {field: [exc.user_message]}}
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        detail = "The request has invalid fields; see 'errors'."
        response.data = {"status": 400, "code": "invalid", "detail": detail, "errors": dict(errors)}
        return response
    data = response.data if isinstance(response.data, dict) else {}
    code = _code(exc) if isinstance(exc, exceptions.APIException) else "error"
    response.data = {"status": response.status_code, "code": code, "detail": str(data.get("detail", ""))}
    return response
