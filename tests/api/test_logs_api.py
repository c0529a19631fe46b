"""The audit log and domain events, read-only and within reach."""

from __future__ import annotations

import pytest

from lms_tool.core.events import event_record
from lms_tool.core.services import audit_record

from .conftest import enrol

pytestmark = pytest.mark.django_db


def test_the_audit_log_is_searchable_and_read_only(make_api, bio):  # type: ignore[no-untyped-def]
    audit_record(actor_type="system", action="score.submitted", object_type="score", object_id=5)
    api = make_api(["audit:read"])
    rows = api.get("/api/v1/audit-events?action=score.submitted&object_id=5").json()["results"]
    assert [(r["action"], r["object_id"]) for r in rows] == [("score.submitted", "5")]
    assert api.post("/api/v1/audit-events", {}, format="json").status_code == 405
    assert api.delete("/api/v1/audit-events").status_code == 405


def test_a_restricted_client_reads_only_its_own_audit_lines(make_api, bio):  # type: ignore[no-untyped-def]
    audit_record(actor_type="system", action="key.rotated", object_type="tool_key", object_id="k1")
    api = make_api(["audit:read", "enrollments:write"], contexts=[bio])
    api.post("/api/v1/enrollments", {"course": bio.pk, "user": {"sub": "x"}}, format="json")
    actions = {r["action"] for r in api.get("/api/v1/audit-events").json()["results"]}
    assert actions == {"enrollment.provisioned"}


def test_domain_events_are_listed_oldest_first_within_reach(make_api, bio, chem):  # type: ignore[no-untyped-def]
    first = event_record(type="enrollment.added", subject_type="membership", subject_id=1, data={}, context_pk=bio.pk)
    event_record(type="enrollment.added", subject_type="membership", subject_id=2, data={}, context_pk=chem.pk)
    second = event_record(type="score.posted", subject_type="score", subject_id=3, data={}, context_pk=bio.pk)
    api = make_api(["events:read"], contexts=[bio])
    rows = api.get("/api/v1/events").json()["results"]
    assert [r["id"] for r in rows] == [str(first.event_id), str(second.event_id)]
    assert [r["id"] for r in api.get("/api/v1/events?type=score.posted").json()["results"]] == [str(second.event_id)]
    enrol(bio, "s1")
