"""Reads of the LTI app. The lookups on every login and launch are lean queries (``lms_tool.core.lean``)."""

from __future__ import annotations

import functools

from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from lms_tool.core import lean

from .models import Deployment, Registration


def registrations_for(*, issuer: str, client_id: str | None) -> list[Registration]:
    if client_id:
        return lean.rows(Registration, {"issuer": issuer, "client_id": client_id, "is_active": True}, limit=2)
    return lean.rows(Registration, {"issuer": issuer, "is_active": True}, limit=2)


def registration_get(*, issuer: str, client_id: str) -> Registration | None:
    return lean.first(Registration, {"issuer": issuer, "client_id": client_id, "is_active": True})


def registration_awaits_approval(*, issuer: str, client_id: str | None) -> bool:
    """An uninvited Dynamic Registration of this platform waits for a tool admin (asked only on a refusal)."""
    pending = Registration.objects.filter(issuer=issuer, pending_approval=True, is_active=False)
    return (pending.filter(client_id=client_id) if client_id else pending).exists()


def deployment_get(*, registration: Registration, deployment_id: str) -> Deployment | None:
    return lean.first(Deployment, {"registration": registration.pk, "deployment_id": deployment_id})


def base_url(request: HttpRequest | None = None) -> str:
    from django.conf import settings

    if settings.TOOL_BASE_URL or request is None:
        return settings.TOOL_BASE_URL or "http://127.0.0.1:8000"
    return f"{request.scheme}://{request.get_host()}"


@functools.lru_cache(maxsize=16)
def _tool_paths(urlconf: str, script_prefix: str) -> tuple[str, str, str]:
    # Every login asks for these; reversing costs ~30 us each and the answer only depends on the key.
    return reverse("lti:login", urlconf), reverse("lti:launch", urlconf), reverse("lti:jwks", urlconf)


def tool_urls(request: HttpRequest | None = None) -> dict[str, str]:
    """The URLs an admin gives a platform when registering the tool."""
    from django.conf import settings

    base = base_url(request)
    login, launch, jwks = _tool_paths(str(get_urlconf() or settings.ROOT_URLCONF), get_script_prefix())
    return {"login": base + login, "launch": base + launch, "jwks": base + jwks}
