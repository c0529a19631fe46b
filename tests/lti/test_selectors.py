"""The launch-path lookups read rows without the ORM's query compiler: they must give what the ORM gives."""

from __future__ import annotations

import pytest

from lms_tool.lti import registry, selectors
from lms_tool.lti.models import Deployment, DeploymentPolicy, Registration

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in Registration._meta.concrete_fields]


def _register(client_id: str = "client-1", issuer: str = "https://lms.example.edu") -> Registration:
    registration, _ = registry.registration_upsert(
        issuer=issuer,
        client_id=client_id,
        auth_login_url="https://lms.example.edu/auth",
        auth_token_url="https://lms.example.edu/token",
        key_set_url="https://lms.example.edu/jwks",
        family="moodle",
        deployment_policy=DeploymentPolicy.REFUSE_NEW,
        deployment_ids=["dep-1"],
    )
    Registration.objects.filter(pk=registration.pk).update(
        scopes=["https://purl.imsglobal.org/spec/lti-ags/scope/score"]
    )
    return registration


def test_it_reads_a_registration_exactly_as_the_orm_does() -> None:
    registration = _register()

    found = selectors.registration_get(issuer=registration.issuer, client_id="client-1")

    expected = Registration.objects.get(pk=registration.pk)
    assert found is not None
    assert {name: getattr(found, name) for name in FIELDS} == {name: getattr(expected, name) for name in FIELDS}
    assert found.scopes == ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]  # JSON decoded, not text
    assert found.is_active is True
    assert found.created_at.tzinfo is not None
    assert found._state.adding is False and found._state.db == "default"


def test_it_ignores_an_inactive_registration_and_an_unknown_client() -> None:
    registration = _register()
    assert selectors.registration_get(issuer=registration.issuer, client_id="other") is None
    Registration.objects.filter(pk=registration.pk).update(is_active=False)

    assert selectors.registration_get(issuer=registration.issuer, client_id="client-1") is None
    assert selectors.registrations_for(issuer=registration.issuer, client_id=None) == []


def test_it_lists_at_most_two_registrations_of_an_issuer() -> None:
    for client_id in ("a", "b", "c"):
        _register(client_id)

    assert len(selectors.registrations_for(issuer="https://lms.example.edu", client_id=None)) == 2
    assert [r.client_id for r in selectors.registrations_for(issuer="https://lms.example.edu", client_id="b")] == ["b"]


def test_it_finds_a_deployment_of_the_right_registration_only() -> None:
    first, second = _register("a"), _register("b")

    found = selectors.deployment_get(registration=first, deployment_id="dep-1")

    assert found == Deployment.objects.get(registration=first, deployment_id="dep-1")
    assert found is not None and found.is_active is True and found.registration_id == first.pk
    assert selectors.deployment_get(registration=second, deployment_id="dep-2") is None


def test_it_treats_quotes_and_wildcards_in_input_as_plain_text() -> None:
    registration = _register()

    assert selectors.registration_get(issuer=registration.issuer, client_id="' OR 1=1 --") is None
    assert selectors.registration_get(issuer="%", client_id="%") is None
