"""Scope checks: each view names the scope each HTTP method needs."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from .models import ApiClient


def required_scope(view: Any, method: str) -> str | None:
    scopes: dict[str, str] = getattr(view, "required_scopes", {})
    return scopes.get(method) or (scopes.get("GET") if method in ("HEAD", "OPTIONS") else None)


class HasScope(permissions.BasePermission):
    """An authenticated API client holding the scope the view asks for this method."""

    message = "This API client lacks the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return False
        method = request.method or "GET"
        if not hasattr(view, method.lower()):
            return True  # DRF answers 405 Method Not Allowed
        scope = required_scope(view, method)
        if scope is None:
            # A view that forgot to name its scope is closed, not open.
            return False
        if not client.has_scope(scope):
            self.message = f"This API client lacks the scope '{scope}'; an admin can grant it."
            return False
        return True
