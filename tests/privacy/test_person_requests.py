"""Export and erasure of one person, by API and by command, with the audit trail kept."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lms_tool.core.models import AuditEvent
from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser, Membership
from tests.api.conftest import enrol, row_counts

pytestmark = pytest.mark.django_db


def test_an_export_holds_the_person_their_records_and_their_audit_lines(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1", name="Sam Student", email="sam@example.edu")
    audit_record(actor_type="platform", action="enrollment.added", object_type="membership", object_id=membership.pk)
    api = make_api(["privacy:export"])
    response = api.get(f"/api/v1/users/{membership.user_id}/export")
    assert response.status_code == 200
    data = response.json()
    assert data["person"]["name"] == "Sam Student" and data["person"]["email"] == "sam@example.edu"
    assert [row["id"] for row in data["records"]["lti.Membership"]] == [membership.pk]
    assert any(line["action"] == "enrollment.added" for line in data["audit_log"])
    assert AuditEvent.objects.filter(action="person.exported", object_id=str(membership.user_id)).exists()


def test_erasure_blanks_the_pii_and_keeps_records_and_the_audit_trail(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1", name="Sam Student", email="sam@example.edu")
    audit_record(actor_type="platform", action="enrollment.added", object_type="membership", object_id=membership.pk)
    api = make_api(["privacy:erase"])
    response = api.post(f"/api/v1/users/{membership.user_id}/erase", {}, format="json")
    assert response.status_code == 200 and response.json()["mode"] == "anonymise"
    user = LtiUser.objects.get(pk=membership.user_id)
    assert (user.name, user.email) == ("", "")
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"enrollment.added", "person.erased"}


def test_erasure_with_delete_removes_the_person_and_their_records(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1", name="Sam Student")
    api = make_api(["privacy:erase"])
    response = api.post(f"/api/v1/users/{membership.user_id}/erase", {"mode": "delete"}, format="json")
    assert response.json() == {"mode": "delete", "person": "deleted", "related_rows": {"lti.Membership": 1}}
    assert not LtiUser.objects.filter(pk=membership.user_id).exists()
    assert AuditEvent.objects.get(action="person.erased").object_id == str(membership.user_id)


def test_a_bad_erasure_mode_is_400_and_erases_nothing(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1", name="Sam Student")
    api = make_api(["privacy:erase"])
    before = row_counts()
    response = api.post(f"/api/v1/users/{membership.user_id}/erase", {"mode": "shred"}, format="json")
    assert response.status_code == 400 and "mode" in response.json()["errors"]
    assert row_counts() == before
    assert LtiUser.objects.get(pk=membership.user_id).name == "Sam Student"


def test_privacy_endpoints_need_their_scopes_and_reach(make_api, bio, chem):  # type: ignore[no-untyped-def]
    inside, outside = enrol(bio, "in"), enrol(chem, "out")
    reader = make_api(["roster:read"])
    assert reader.get(f"/api/v1/users/{inside.user_id}/export").status_code == 403
    assert reader.post(f"/api/v1/users/{inside.user_id}/erase", {}, format="json").status_code == 403
    narrow = make_api(["privacy:export", "privacy:erase"], contexts=[bio])
    assert narrow.get(f"/api/v1/users/{outside.user_id}/export").status_code == 404
    assert narrow.post(f"/api/v1/users/{outside.user_id}/erase", {}, format="json").status_code == 404


def test_the_commands_export_and_erase_one_person(bio, tmp_path):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1", name="Sam Student", email="sam@example.edu")
    target = tmp_path / "export.json"
    call_command(
        "privacy_export", "--issuer", bio.registration.issuer, "--sub", "s1", "--out", str(target), stdout=StringIO()
    )
    assert json.loads(target.read_text())["person"]["email"] == "sam@example.edu"
    with pytest.raises(CommandError, match="--yes"):
        call_command("privacy_erase", "--user", str(membership.user_id))
    call_command("privacy_erase", "--user", str(membership.user_id), "--yes", stdout=StringIO())
    assert LtiUser.objects.get(pk=membership.user_id).email == ""
    with pytest.raises(CommandError, match="No such person"):
        call_command("privacy_export", "--user", "999999")


def test_the_audit_log_is_searchable_and_read_only_in_the_admin(admin_client, db):  # type: ignore[no-untyped-def]
    line = audit_record(
        actor_type="api_client",
        actor_id="sis_1",
        action="enrollment.dropped",
        object_type="membership",
        object_id=42,
        source="api",
    )
    found = admin_client.get("/admin/core/auditevent/", {"q": "membership 42"})
    assert found.status_code == 200 and list(found.context["cl"].result_list) == [line]
    assert list(admin_client.get("/admin/core/auditevent/", {"q": "membership 43"}).context["cl"].result_list) == []
    assert admin_client.post(f"/admin/core/auditevent/{line.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=line.pk).exists()
