"""Incremental reads: updated_since + keyset cursor pages move only what changed, with nothing lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lms_tool.lti.models import LtiUser, Membership

from .conftest import LEARNER, enrol

pytestmark = pytest.mark.django_db


def _walk(api, url: str) -> list[dict]:  # type: ignore[no-untyped-def]
    rows, pages = [], 0
    while url and pages < 100:
        body = api.get(url).json()
        rows.extend(body["results"])
        url, pages = body["next"], pages + 1
    return rows


def test_cursor_pages_return_every_row_once_even_when_timestamps_tie(make_api, bio):  # type: ignore[no-untyped-def]
    moment = timezone.now()
    users = LtiUser.objects.bulk_create([LtiUser(registration=bio.registration, sub=f"u{i}") for i in range(23)])
    Membership.objects.bulk_create([Membership(context=bio, user=u, roles=[LEARNER]) for u in users])
    Membership.objects.update(updated_at=moment)  # every row ties on updated_at
    api = make_api(["roster:read"])
    rows = _walk(api, "/api/v1/enrollments?page_size=5")
    assert sorted(r["id"] for r in rows) == sorted(Membership.objects.values_list("pk", flat=True))
    assert len({r["id"] for r in rows}) == 23


def test_updated_since_returns_only_what_changed(make_api, bio):  # type: ignore[no-untyped-def]
    old = [enrol(bio, f"old{i}") for i in range(3)]
    Membership.objects.update(updated_at=timezone.now() - timedelta(days=2))
    since = timezone.now() - timedelta(days=1)
    changed = enrol(bio, "new")
    old[0].is_active = False
    old[0].save()
    api = make_api(["roster:read"])
    rows = _walk(api, f"/api/v1/enrollments?updated_since={since.isoformat().replace('+', '%2B')}")
    assert {r["id"] for r in rows} == {changed.pk, old[0].pk}


def test_updated_since_accepts_an_unencoded_plus_and_z(make_api, bio):  # type: ignore[no-untyped-def]
    enrol(bio, "s1")
    api = make_api(["roster:read"])
    assert len(api.get("/api/v1/enrollments?updated_since=2000-01-01T00:00:00+00:00").json()["results"]) == 1
    assert len(api.get("/api/v1/enrollments?updated_since=2000-01-01T00:00:00Z").json()["results"]) == 1
    assert api.get("/api/v1/enrollments?updated_since=2999-01-01T00:00:00Z").json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("updated_since=last-tuesday", "updated_since"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("cursor=%%%", "cursor"),
        ("page_size=0", "page_size"),
        ("page_size=5000", "page_size"),
        ("page_size=ten", "page_size"),
        ("course=abc", "course"),
        ("is_active=maybe", "is_active"),
    ],
)
def test_bad_query_parameters_answer_400_naming_the_field(make_api, bio, query, field):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    response = api.get(f"/api/v1/enrollments?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_filters_narrow_enrollments(make_api, bio, chem):  # type: ignore[no-untyped-def]
    a = enrol(bio, "a")
    enrol(bio, "b", active=False)
    enrol(chem, "c")
    api = make_api(["roster:read"])
    rows = api.get(f"/api/v1/enrollments?course={bio.pk}&is_active=true").json()["results"]
    assert [r["id"] for r in rows] == [a.pk]


def test_names_and_emails_need_the_pii_scope(make_api, bio):  # type: ignore[no-untyped-def]
    m = enrol(bio, "s1", name="Sam Student", email="sam@example.edu")
    plain = make_api(["roster:read"]).get(f"/api/v1/users/{m.user_id}").json()
    assert plain["name"] is None and plain["email"] is None
    assert plain["pseudonym"].startswith("p_")
    full = make_api(["roster:read", "pii:read"]).get(f"/api/v1/users/{m.user_id}").json()
    assert (full["name"], full["email"]) == ("Sam Student", "sam@example.edu")
    assert full["pseudonym"] == plain["pseudonym"]


def test_a_restricted_client_sees_only_its_courses_people(make_api, bio, chem):  # type: ignore[no-untyped-def]
    inside = enrol(bio, "in")
    outside = enrol(chem, "out")
    api = make_api(["roster:read"], contexts=[bio])
    assert [u["id"] for u in api.get("/api/v1/users").json()["results"]] == [inside.user_id]
    assert [c["id"] for c in api.get("/api/v1/courses").json()["results"]] == [bio.pk]
    assert api.get(f"/api/v1/users/{outside.user_id}").json() == api.get("/api/v1/users/999999").json()
    assert api.get("/api/v1/users/999999").status_code == 404


def test_analytics_rows_carry_pseudonyms_and_no_pii(make_api, bio):  # type: ignore[no-untyped-def]
    enrol(bio, "sub-visible-nowhere", name="Ada Lovelace", email="ada@example.edu")
    response = make_api(["analytics:read"]).get("/api/v1/analytics/enrollments")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Ada" not in text and "ada@" not in text and "sub-visible-nowhere" not in text
    assert response.json()["results"][0]["learner"].startswith("p_")


def test_the_fast_enrollment_shape_equals_drfs_own(bio):  # type: ignore[no-untyped-def]
    from rest_framework import serializers

    from lms_tool.api.serializers import EnrollmentOut

    membership = enrol(bio, "s1")
    membership.last_launch_at = timezone.now()
    membership.save()
    membership.refresh_from_db()
    out = EnrollmentOut(membership)
    assert out.data == serializers.Serializer.to_representation(out, membership)


def test_users_are_found_by_email_or_sis_id_only_with_the_pii_scope(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["enrollments:write", "roster:read", "pii:read"])
    body = {"course": bio.pk, "user": {"sub": "p1", "email": "Pat@Example.edu", "sis_id": "SIS-77"}}
    assert api.post("/api/v1/enrollments", body, format="json").status_code == 201
    by_email = api.get("/api/v1/users?email=pat@example.edu").json()["results"]
    by_sis = api.get("/api/v1/users?sis_id=SIS-77").json()["results"]
    assert [u["sub"] for u in by_email] == [u["sub"] for u in by_sis] == ["p1"]
    assert by_sis[0]["sis_id"] == "SIS-77"
    plain = make_api(["roster:read"])
    assert plain.get("/api/v1/users?email=pat@example.edu").status_code == 403
    assert plain.get("/api/v1/users").json()["results"][0]["sis_id"] is None
