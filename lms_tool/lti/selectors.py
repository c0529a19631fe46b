from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from .models import Deployment, Registration


def registrations_for(*, issuer: str, client_id: str | None) -> list[Registration]:
    qs = Registration.objects.filter(issuer=issuer, is_active=True)
    if client_id:
        qs = qs.filter(client_id=client_id)
    return list(qs[:2])


def registration_get(*, issuer: str, client_id: str) -> Registration | None:
    return Registration.objects.filter(issuer=issuer, client_id=client_id, is_active=True).first()


def deployment_get(*, registration: Registration, deployment_id: str) -> Deployment | None:
    return Deployment.objects.filter(registration=registration, deployment_id=deployment_id).first()


def base_url(request: HttpRequest | None = None) -> str:
    from django.conf import settings

    if settings.TOOL_BASE_URL or request is None:
        return settings.TOOL_BASE_URL or "http://127.0.0.1:8000"
    return f"{request.scheme}://{request.get_host()}"


def tool_urls(request: HttpRequest | None = None) -> dict[str, str]:
    """The URLs an admin gives a platform when registering the tool."""
    base = base_url(request)
    return {
        "login": base + reverse("lti:login"),
        "launch": base + reverse("lti:launch"),
        "jwks": base + reverse("lti:jwks"),
    }
