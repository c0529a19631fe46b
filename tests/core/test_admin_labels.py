"""The Django admin's index names every model in plain words (no "Learner parameterss", "Lti users")."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_index_names_models_as_people_say_them(admin_client):
    page = admin_client.get("/admin/").content.decode()

    for label in ("FSRS parameters", "AGS endpoints", "LTI users"):
        assert label in page
    for wrong in ("parameterss", "Ags endpoints", "Lti users"):
        assert wrong not in page


def _registration():  # type: ignore[no-untyped-def]
    from lms_tool.lti import registry

    registration, _ = registry.registration_upsert(
        issuer="https://canvas.instructure.com",
        client_id="10000000000001",
        auth_login_url="https://school.instructure.com/api/lti/authorize_redirect",
        auth_token_url="https://school.instructure.com/login/oauth2/token",
        key_set_url="https://school.instructure.com/api/lti/security/jwks",
        actor="ops",
    )
    return registration


def test_a_platform_admin_reads_the_registrations_in_spanish(admin_client):
    # docs/translation.md: the admin follows the browser's Accept-Language; Django translates its own chrome,
    # the tool's catalog the names of its models, fields, choices and actions.
    registration = _registration()

    listing = admin_client.get("/admin/lti/registration/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    change = admin_client.get(
        f"/admin/lti/registration/{registration.pk}/change/", HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    index = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Seleccione registro a modificar" in listing  # Django's chrome with our model's name
    for header in (
        "Id de cliente",
        "Emisor (issuer)",
        "Política de despliegues",
        "Está activo",
        "Pendiente de aprobación",
    ):
        assert f">{header}<" in listing, header
    assert "Aprobar: activar los registros que esperan aprobación" in listing  # the admin action
    assert "Aceptar despliegues nuevos de este registro" in listing  # a choice in the list
    assert "Qué sale de la herramienta (IA)" in change
    assert "El endpoint de autorización OIDC de la plataforma." in change  # a help text
    assert "Presupuesto mensual de tokens de IA" in change
    for heading in ("Usuarios de LTI", "Invitaciones de registro", "Claves de la herramienta", "Tarjetas de estudio"):
        assert heading in index, heading
    assert "Client id" not in listing and "Registrations" not in index


def test_the_registrations_admin_stays_word_for_word_in_english(admin_client):
    registration = _registration()

    listing = admin_client.get("/admin/lti/registration/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    change = admin_client.get(
        f"/admin/lti/registration/{registration.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Select registration to change" in listing
    for header in ("Client id", "Issuer", "Deployment policy", "Is active", "Pending approval"):
        assert f">{header}<" in listing, header
    assert "Approve: activate registrations that await approval (uninvited Dynamic Registration)" in listing
    assert "OIDC authorization endpoint." in change and "Monthly AI token budget" in change


def test_a_refused_change_and_what_leaves_the_tool_read_in_spanish(admin_client):
    registration = _registration()
    registration.ai_enabled = False
    registration.save()
    form = {
        "name": "",
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "auth_login_url": registration.auth_login_url,
        "auth_token_url": registration.auth_token_url,
        "key_set_url": registration.key_set_url,
        "auth_audience": "",
        "family": registration.family,
        "deployment_policy": registration.deployment_policy,
        "is_active": "on",
        "scopes": "[]",
        "frame_origins": '["https://school.instructure.com/courses/1"]',
        "ai_monthly_token_budget": "0",
        "deployments-TOTAL_FORMS": "0",
        "deployments-INITIAL_FORMS": "0",
        "deployments-MIN_NUM_FORMS": "0",
        "deployments-MAX_NUM_FORMS": "1000",
    }

    refused = admin_client.post(
        f"/admin/lti/registration/{registration.pk}/change/", form, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "es una URL, no un origen: escribe solo esquema://host[:puerto], sin ruta." in refused
    assert "Un presupuesto mensual de tokens debe ser de al menos 1 token." in refused
    assert "El proveedor de IA está DESACTIVADO para este registro" in refused
    registration.refresh_from_db()
    assert registration.frame_origins == [] and registration.ai_monthly_token_budget is None
