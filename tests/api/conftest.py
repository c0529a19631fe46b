"""API fixtures: a registration with two courses, people in them, and API clients with chosen scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from lms_tool.api import services
from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, Registration

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def registration_make(issuer: str = "https://canvas.example.edu", client_id: str = "client-1") -> Registration:
    return Registration.objects.create(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=f"{issuer}/auth",
        auth_token_url=f"{issuer}/token",
        key_set_url=f"{issuer}/jwks",
    )


def context_make(registration: Registration, context_id: str, title: str = "") -> Context:
    deployment, _ = Deployment.objects.get_or_create(registration=registration, deployment_id="dep-1")
    return Context.objects.create(
        registration=registration, deployment=deployment, context_id=context_id, title=title or context_id
    )


def enrol(context: Context, sub: str, *, name: str = "", email: str = "", active: bool = True) -> Membership:
    user, _ = LtiUser.objects.get_or_create(
        registration=context.registration, sub=sub, defaults={"name": name, "email": email}
    )
    return Membership.objects.create(context=context, user=user, roles=[LEARNER], is_active=active)


@pytest.fixture
def registration(db: None) -> Registration:
    return registration_make()


@pytest.fixture
def bio(registration: Registration) -> Context:
    return context_make(registration, "bio-101", "Biology 101")


@pytest.fixture
def chem(registration: Registration) -> Context:
    return context_make(registration, "chem-201", "Chemistry 201")


@pytest.fixture
def make_api(db: None) -> Callable[..., APIClient]:
    """``make_api(["roster:read"], contexts=[bio])`` -> an APIClient authenticated as a new API client."""

    def make(
        scopes: list[str],
        *,
        contexts: list[Context] | None = None,
        all_contexts: bool | None = None,
        rate: int | None = None,
        **kwargs: Any,
    ) -> APIClient:
        client, token = services.api_client_create(
            name="SIS",
            scopes=scopes,
            created_by="test",
            all_contexts=all_contexts if all_contexts is not None else contexts is None,
            context_pks=[c.pk for c in contexts or []],
            rate_limit_per_minute=rate,
            **kwargs,
        )
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        api.api_client = client  # type: ignore[attr-defined]
        api.token = token  # type: ignore[attr-defined]
        return api

    return make


def row_counts() -> dict[str, object]:
    """Everything a refused request must leave as it was: row counts and the clients' last-used times."""
    from django.apps import apps

    from lms_tool.api.models import ApiClient

    counts: dict[str, object] = {
        m._meta.label: m._base_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in {"api", "core", "lti", "webhooks", "grading", "roster"}
    }
    counts["last_used"] = sorted(str(t) for t in ApiClient.objects.values_list("last_used_at", flat=True))
    counts["memberships"] = sorted(Membership.objects.values_list("pk", "is_active", "roles", "updated_at"))
    return counts
