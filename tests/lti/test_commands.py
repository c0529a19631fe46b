"""`manage.py lti_platform add|list|remove`: scriptable, idempotent, audited, and strict about input."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from lms_tool.core.models import AuditEvent
from lms_tool.lti.models import Deployment, Registration

pytestmark = pytest.mark.django_db

CANVAS = "https://canvas.instructure.com"
BASE = [
    "--issuer", CANVAS,
    "--client-id", "10000000000042",
    "--login-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "--token-url", "https://sso.canvaslms.com/login/oauth2/token",
    "--jwks-url", "https://sso.canvaslms.com/api/lti/security/jwks",
]  # fmt: skip


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("lti_platform", *args, stdout=out)
    return out.getvalue()


def replace(args: list[str], option: str, value: str) -> list[str]:
    changed = list(args)
    changed[changed.index(option) + 1] = value
    return changed


# add ------------------------------------------------------------------------------------------
def test_add_creates_a_registration_with_its_deployments_and_audits_it():
    output = run("add", *BASE, "--deployment-id", "dep-1", "--deployment-id", "dep-2", "--family", "canvas")

    registration = Registration.objects.get()
    assert output.startswith("Created registration")
    assert (registration.issuer, registration.client_id, registration.family) == (CANVAS, "10000000000042", "canvas")
    assert registration.key_set_url == "https://sso.canvaslms.com/api/lti/security/jwks"
    assert sorted(registration.deployments.values_list("deployment_id", flat=True)) == ["dep-1", "dep-2"]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_type, event.actor_id) == ("registration.create", "admin", "cli")
    assert (event.object_type, event.object_id) == ("registration", str(registration.pk))
    assert event.before is None and event.after["deployments"] == ["dep-1", "dep-2"]


def test_a_second_add_updates_the_same_registration_and_adds_deployments():
    run("add", *BASE, "--deployment-id", "dep-1", "--family", "canvas")

    new_login = "https://sso.beta.canvaslms.com/api/lti/authorize_redirect"
    output = run("add", *replace(BASE, "--login-url", new_login), "--deployment-id", "dep-2", "--deployments", "refuse")

    registration = Registration.objects.get()
    assert output.startswith("Updated registration")
    assert registration.auth_login_url == new_login
    assert registration.family == "canvas", "an update without --family keeps the family"
    assert registration.deployment_policy == "refuse"
    assert sorted(registration.deployments.values_list("deployment_id", flat=True)) == ["dep-1", "dep-2"]
    update = AuditEvent.objects.get(action="registration.update")
    assert update.before["auth_login_url"] != update.after["auth_login_url"] == new_login
    assert update.before["deployments"] == ["dep-1"]


def test_adding_the_same_registration_twice_changes_nothing_but_the_audit_log():
    run("add", *BASE, "--deployment-id", "dep-1")
    run("add", *BASE, "--deployment-id", "dep-1")

    assert Registration.objects.count() == 1
    assert Deployment.objects.count() == 1
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "registration.create",
        "registration.update",
    ]


def test_add_reactivates_an_inactive_deployment_it_lists():
    run("add", *BASE, "--deployment-id", "dep-1")
    Deployment.objects.update(is_active=False)

    run("add", *BASE, "--deployment-id", "dep-1")

    assert Deployment.objects.get().is_active


def test_the_same_client_id_under_another_issuer_is_another_registration():
    run("add", *BASE)
    run("add", *replace(BASE, "--issuer", "https://moodle.example.edu"))

    assert Registration.objects.count() == 2


# bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--login-url", "not-a-url", "login URL"),
        ("--token-url", "ftp://lms.example.edu/token", "token URL"),
        ("--jwks-url", "/api/lti/security/jwks", "JWKS URL"),
        ("--issuer", "canvas", "issuer"),
        ("--client-id", "   ", "client_id"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(option, value, message):
    with pytest.raises(CommandError) as refused:
        run("add", *replace(BASE, option, value), "--deployment-id", "dep-1")

    assert message in str(refused.value)
    assert not Registration.objects.exists()
    assert not Deployment.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_refused_update_leaves_the_registration_as_it_was():
    run("add", *BASE, "--deployment-id", "dep-1")

    with pytest.raises(CommandError, match="JWKS URL"):
        run("add", *replace(BASE, "--jwks-url", "jwks"), "--deployment-id", "dep-2")

    registration = Registration.objects.get()
    assert registration.key_set_url == "https://sso.canvaslms.com/api/lti/security/jwks"
    assert list(registration.deployments.values_list("deployment_id", flat=True)) == ["dep-1"]
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize(
    "extra",
    [["--family", "blackboard"], ["--deployments", "maybe"]],
    ids=["unknown-family", "unknown-deployment-policy"],
)
def test_add_refuses_unknown_choices(extra):
    with pytest.raises(CommandError, match="invalid choice"):
        run("add", *BASE, *extra)

    assert not Registration.objects.exists()


def test_add_requires_every_url():
    with pytest.raises(CommandError, match="--jwks-url"):
        run("add", *BASE[:-2])

    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--deployment-id", ""], "deployment"),
        (["--deployment-id", "d" * 256], "deployment"),
        (["--client-id", "c" * 256], "client_id"),
        (["--jwks-url", "https://lms.example.edu/" + "j" * 500], "JWKS URL"),
    ],
    ids=["empty-deployment-id", "deployment-id-too-long", "client-id-too-long", "url-too-long"],
)
def test_add_refuses_values_the_tool_cannot_store(extra, message):
    args = list(BASE)
    if extra[0] in args:
        args = replace(args, extra[0], extra[1])
        extra = []

    with pytest.raises(CommandError, match=message):
        run("add", *args, *extra)

    assert not Registration.objects.exists()
    assert not AuditEvent.objects.exists()


# list -----------------------------------------------------------------------------------------
def test_list_says_when_there_is_nothing():
    assert run("list").strip() == "No registrations."


def test_list_shows_each_registration_with_its_deployments():
    run("add", *BASE, "--deployment-id", "dep-1", "--deployment-id", "dep-2", "--family", "canvas")
    run("add", *replace(BASE, "--issuer", "https://moodle.example.edu"), "--deployments", "refuse")
    Registration.objects.filter(issuer=CANVAS).update(is_active=False)

    lines = run("list").splitlines()

    assert len(lines) == 2
    canvas = next(line for line in lines if CANVAS in line)
    assert "client_id=10000000000042" in canvas and "family=canvas" in canvas
    assert "deployments=dep-1,dep-2 (accept)" in canvas and canvas.endswith("INACTIVE")
    moodle = next(line for line in lines if "moodle" in line)
    assert "deployments=- (refuse)" in moodle and "INACTIVE" not in moodle


def test_list_json_is_machine_readable():
    run("add", *BASE, "--deployment-id", "dep-1", "--family", "canvas")

    rows = json.loads(run("list", "--json"))

    assert rows == [
        {
            "id": Registration.objects.get().pk,
            "issuer": CANVAS,
            "client_id": "10000000000042",
            "family": "canvas",
            "login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "token_url": "https://sso.canvaslms.com/login/oauth2/token",
            "jwks_url": "https://sso.canvaslms.com/api/lti/security/jwks",
            "deployment_policy": "accept",
            "active": True,
            "deployments": ["dep-1"],
        }
    ]


def test_list_json_of_nothing_is_an_empty_list():
    assert json.loads(run("list", "--json")) == []


# remove ---------------------------------------------------------------------------------------
def test_remove_deletes_the_registration_and_its_deployments_and_audits_it():
    run("add", *BASE, "--deployment-id", "dep-1")
    pk = Registration.objects.get().pk

    output = run("remove", "--issuer", CANVAS, "--client-id", "10000000000042")

    assert output.strip() == "Removed."
    assert not Registration.objects.exists() and not Deployment.objects.exists()
    event = AuditEvent.objects.get(action="registration.remove")
    assert (event.actor_id, event.object_id) == ("cli", str(pk))
    assert event.before["deployments"] == ["dep-1"] and event.after is None


def test_remove_of_an_unknown_registration_is_refused_and_writes_nothing():
    run("add", *BASE)

    with pytest.raises(CommandError, match="No registration for issuer"):
        run("remove", "--issuer", CANVAS, "--client-id", "someone-else")

    assert Registration.objects.count() == 1
    assert not AuditEvent.objects.filter(action="registration.remove").exists()
