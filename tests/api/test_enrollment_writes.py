"""Pre-provision and drop enrollments: the roster's path, its events, the audit log, Idempotency-Key."""

from __future__ import annotations

import pytest

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.lti.models import LtiUser, Membership
from lms_tool.roster import selectors as roster_selectors
from lms_tool.roster.nrps import Member

from .conftest import enrol, row_counts

pytestmark = pytest.mark.django_db


def _provision(api, course_pk: int, sub: str = "new-1", roles=("Learner",), key: str | None = None):  # type: ignore[no-untyped-def]
    body = {
        "course": course_pk,
        "user": {"sub": sub, "name": "New Person", "email": "new@example.edu"},
        "roles": list(roles),
    }
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post("/api/v1/enrollments", body, format="json", **extra)


def test_provisioning_creates_the_person_and_enrollment_with_event_and_audit(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write"])
    response = _provision(api, bio.pk)
    assert response.status_code == 201
    body = response.json()
    assert body["is_active"] is True and body["user_sub"] == "new-1"
    assert body["roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    user = LtiUser.objects.get(sub="new-1")
    assert (user.name, user.email) == ("New Person", "new@example.edu")
    assert DomainEvent.objects.filter(type="enrollment.added", subject_id=str(body["id"])).count() == 1
    line = AuditEvent.objects.get(action="enrollment.provisioned")
    assert (line.actor_type, line.actor_id, line.source) == ("api_client", api.api_client.client_id, "api")


def test_provisioning_again_changes_nothing_and_records_no_event(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write"])
    _provision(api, bio.pk)
    before = row_counts()
    response = _provision(api, bio.pk)
    assert response.status_code == 200
    assert row_counts() == before


def test_a_drop_revokes_access_as_an_nrps_removal_does(make_api, bio):  # type: ignore[no-untyped-def]
    api_drop = enrol(bio, "by-api")
    nrps_drop = enrol(bio, "by-nrps")
    api = make_api(["enrollments:write"])
    response = api.delete(f"/api/v1/enrollments/{api_drop.pk}")
    assert response.status_code == 200 and response.json()["is_active"] is False
    # The roster's own removal path, for comparison.
    from collections import Counter

    from lms_tool.roster import bulk

    state = bulk.memberships_load(bio)
    bulk.page_apply(
        context=bio,
        link=None,
        page=[Member(user_id="by-nrps", roles=(), status="Deleted")],
        state=state,
        seen=set(),
        counts=Counter(),
    )
    for sub in ("by-api", "by-nrps"):
        assert roster_selectors.membership_is_revoked(registration=bio.registration, context_id=bio.context_id, sub=sub)
    api_event = DomainEvent.objects.get(type="enrollment.removed", subject_id=str(api_drop.pk))
    nrps_event = DomainEvent.objects.get(type="enrollment.removed", subject_id=str(nrps_drop.pk))
    assert set(api_event.data) - set(nrps_event.data) == {"source", "api_client"}
    assert api_event.data["reason"] == "dropped through the API"
    assert api_event.context_pk == nrps_event.context_pk == bio.pk
    assert AuditEvent.objects.filter(action="enrollment.dropped", object_id=str(api_drop.pk)).count() == 1


def test_dropping_a_dropped_enrollment_records_nothing_more(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1")
    api = make_api(["enrollments:write"])
    api.delete(f"/api/v1/enrollments/{membership.pk}")
    before = row_counts()
    assert api.delete(f"/api/v1/enrollments/{membership.pk}").status_code == 200
    assert row_counts() == before


def test_provisioning_a_dropped_person_reactivates_them(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "new-1", active=False)
    response = _provision(make_api(["enrollments:write"]), bio.pk)
    assert response.status_code == 200
    assert Membership.objects.get(pk=membership.pk).is_active is True
    assert DomainEvent.objects.filter(type="enrollment.added", subject_id=str(membership.pk)).exists()


def test_an_idempotency_key_replays_the_first_answer_without_a_second_write(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write"])
    first = _provision(api, bio.pk, key="sis-req-1")
    before = row_counts()
    again = _provision(api, bio.pk, key="sis-req-1")
    assert again.status_code == 201 == first.status_code
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert row_counts() == before


def test_an_idempotency_key_reused_for_another_request_is_422(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write"])
    _provision(api, bio.pk, key="k")
    before = row_counts()
    response = _provision(api, bio.pk, sub="someone-else", key="k")
    assert response.status_code == 422
    assert row_counts() == before


def test_idempotency_keys_are_per_client(make_api, bio):  # type: ignore[no-untyped-def]
    _provision(make_api(["enrollments:write"]), bio.pk, key="same")
    assert _provision(make_api(["enrollments:write"]), bio.pk, sub="other", key="same").status_code == 201


def test_a_drop_with_an_idempotency_key_is_replayed(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1")
    api = make_api(["enrollments:write"])
    first = api.delete(f"/api/v1/enrollments/{membership.pk}", HTTP_IDEMPOTENCY_KEY="drop-1")
    again = api.delete(f"/api/v1/enrollments/{membership.pk}", HTTP_IDEMPOTENCY_KEY="drop-1")
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"course", "user"}),
        ({"course": "bio", "user": {"sub": "x"}}, {"course"}),
        ({"course": 1, "user": {}}, {"user"}),
        ({"course": 1, "user": {"sub": "x", "email": "not-an-email"}}, {"user"}),
        ({"course": 1, "user": {"sub": "x"}, "roles": ["Overlord"]}, {"roles"}),
        ({"course": 1, "user": {"sub": "x"}, "roles": []}, {"roles"}),
        ({"course": 1, "user": {"sub": "x" * 300}}, {"user"}),
        ({"course": 999999, "user": {"sub": "x"}}, {"course"}),
    ],
)
def test_bad_input_answers_400_per_field_and_writes_nothing(make_api, bio, body, fields):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write"])
    before = row_counts()
    response = api.post("/api/v1/enrollments", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == fields
    assert row_counts() == before
    # A corrected retry may reuse the key: a refused request stored no answer.
    ok = api.post(
        "/api/v1/enrollments", {"course": bio.pk, "user": {"sub": "x"}}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert ok.status_code == 201


def test_a_body_that_is_not_json_is_400(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write"])
    response = api.post("/api/v1/enrollments", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_an_overlong_idempotency_key_is_400(make_api, bio):  # type: ignore[no-untyped-def]
    response = _provision(make_api(["enrollments:write"]), bio.pk, key="k" * 300)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]


def test_every_write_endpoint_honours_idempotency_keys() -> None:
    from django.urls import get_resolver

    from lms_tool.api.urls import v1

    writes = []
    for pattern in v1:
        view = pattern.callback.view_class
        for method in ("post", "put", "patch", "delete"):
            handler = getattr(view, method, None)
            if handler is not None:
                writes.append((pattern.name, method, getattr(handler, "idempotent", False)))
    assert writes and all(ok for _, _, ok in writes), [w for w in writes if not w[2]]
    assert get_resolver() is not None


def test_stored_answers_are_forgotten_after_the_ttl(make_api, bio):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    from lms_tool.api.models import IdempotencyRecord
    from lms_tool.api.services import idempotency_purge

    api = make_api(["enrollments:write"])
    _provision(api, bio.pk, key="old")
    assert idempotency_purge() == 0
    assert idempotency_purge(now=timezone.now() + timedelta(days=2)) == 1
    assert not IdempotencyRecord.objects.exists()
