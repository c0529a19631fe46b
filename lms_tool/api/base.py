"""What every /api/v1/ view shares: body-size limit, last-used time, scope names per method."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponseBase
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from .errors import PayloadTooLarge
from .models import ApiClient
from .parsers import JSONParser

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_body_size(request: Request) -> None:
    """413 before anything is parsed or written."""
    limit = settings.API["MAX_BODY_BYTES"]
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()):
        raise ValidationError({"Content-Length": ["Must be a whole number of bytes."]})
    if int(length) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes; send less per request.")


class ApiView(generics.GenericAPIView):
    """Base of the API views. ``required_scopes`` maps HTTP methods to scopes (see permissions)."""

    required_scopes: dict[str, str] = {}
    parser_classes = [JSONParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        check_body_size(request)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        client = getattr(request, "_user", None)
        if isinstance(client, ApiClient) and response.status_code < 400:
            client.touch()
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def client(self) -> ApiClient:
        user = self.request.user
        assert isinstance(user, ApiClient)
        return user
