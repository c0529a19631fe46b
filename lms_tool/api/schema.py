"""OpenAPI extras: the API-client security scheme and the error answers every operation can give."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERRORS = {
    "400": "Invalid input: 'errors' lists the messages per field. Nothing was written.",
    "401": "Missing, unknown or revoked credentials. Nothing was written.",
    "403": "The client lacks the scope this request needs. Nothing was written.",
    "404": "No such object, or one outside the client's reach (answered alike, so ids cannot be probed). Nothing was written.",
    "413": "The request body is too large. Nothing was written.",
    "422": "The Idempotency-Key was already used for a different request.",
    "429": "Too many requests: wait for the seconds in Retry-After. Nothing was written.",
}
# Only a write can find the state against it (docs/api.md, "409"): a grade already reviewed, a score that is
# not a dead letter replayed, or a retry while the first request with its Idempotency-Key is still running.
WRITE_ERRORS = {
    "409": "The object's state does not allow this (a grade already reviewed, a score that is not a dead letter "
    "replayed), or a request with this Idempotency-Key is still being processed. Nothing was written.",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["status", "code", "detail"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): a retry with the same key gets the first answer, not a second write.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


class ApiClientScheme(OpenApiAuthenticationExtension):
    target_class = "lms_tool.api.auth.ApiClientAuthentication"
    name = "apiClient"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "'Bearer <client_id>.<secret>' as given by the admin who created the API client.",
        }


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every operation documents the shared error answers; writes document ``Idempotency-Key``."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code, text in ERRORS.items():
                responses.setdefault(code, {"description": text, "content": {"application/json": {"schema": ref}}})
            if method in ("post", "put", "patch", "delete"):
                for code, text in WRITE_ERRORS.items():
                    responses.setdefault(code, {"description": text, "content": {"application/json": {"schema": ref}}})
                operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
    return result
