"""Credentials, scopes, reach, rate limits and body size: each refusal answers right and writes nothing."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from lms_tool.api import services
from lms_tool.api.models import ApiClient

from .conftest import enrol, row_counts

pytestmark = pytest.mark.django_db
PROVISION = {"user": {"sub": "new-1", "name": "New Person"}, "roles": ["Learner"]}


def _post_enrolment(api: APIClient, course_pk: int, **extra: str):  # type: ignore[no-untyped-def]
    return api.post("/api/v1/enrollments", {**PROVISION, "course": course_pk}, format="json", **extra)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer nonsense", "Bearer sis_0000000000000000.wrong", "Token abc", "Basic !!!notbase64", "Bearer .x"],
)
def test_it_answers_401_to_missing_or_bad_credentials_and_writes_nothing(header, make_api, bio):  # type: ignore[no-untyped-def]
    make_api(["roster:read", "enrollments:write"])
    api = APIClient()
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)
    before = row_counts()
    response = _post_enrolment(api, bio.pk, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401
    assert row_counts() == before


def test_a_wrong_secret_for_a_real_client_is_401(make_api, bio):  # type: ignore[no-untyped-def]
    good = make_api(["roster:read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {good.api_client.client_id}.not-the-secret")
    assert api.get("/api/v1/courses").status_code == 401


def test_a_revoked_client_is_401(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    assert api.get("/api/v1/courses").status_code == 200
    services.api_client_revoke(client=api.api_client, actor="admin")
    response = api.get("/api/v1/courses")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_rotated_secret_replaces_the_old_one(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    token = services.api_client_rotate_secret(client=api.api_client, actor="admin")
    assert api.get("/api/v1/courses").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/courses").status_code == 200


def test_http_basic_with_client_id_and_secret_works(make_api, bio):  # type: ignore[no-untyped-def]
    client_id, _, secret = make_api(["roster:read"]).token.partition(".")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode())
    assert api.get("/api/v1/courses").status_code == 200


def test_only_a_hash_of_the_secret_is_stored(make_api):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    secret = api.token.partition(".")[2]
    row = ApiClient.objects.values().get(pk=api.api_client.pk)
    assert all(secret not in str(value) for value in row.values())


def test_it_answers_403_without_the_scope_and_writes_nothing(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    before = row_counts()
    response = _post_enrolment(api, bio.pk, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 403
    assert "enrollments:write" in response.json()["detail"]
    assert row_counts() == before


def test_a_course_outside_the_clients_reach_answers_as_a_missing_one_and_nothing_is_written(make_api, bio, chem):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read", "enrollments:write"], contexts=[bio])
    membership = enrol(chem, "c1")
    before = row_counts()
    refused = _post_enrolment(api, chem.pk, HTTP_IDEMPOTENCY_KEY="k1")
    assert refused.status_code == 400
    assert refused.json() == _post_enrolment(api, 999999, HTTP_IDEMPOTENCY_KEY="k2").json()
    assert api.delete(f"/api/v1/enrollments/{membership.pk}").status_code == 404
    assert api.get(f"/api/v1/courses/{chem.pk}").status_code == 404
    assert row_counts() == before
    assert _post_enrolment(api, bio.pk).status_code == 201


def test_a_client_with_no_reach_sees_nothing(make_api, bio):  # type: ignore[no-untyped-def]
    enrol(bio, "s1")
    api = make_api(["roster:read"], contexts=[], all_contexts=False)
    assert api.get("/api/v1/enrollments").json()["results"] == []
    assert api.get("/api/v1/users").json()["results"] == []


def test_it_answers_429_with_retry_after_past_the_rate_and_writes_nothing(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read", "enrollments:write"], rate=2)
    assert api.get("/api/v1/courses").status_code == 200
    assert api.get("/api/v1/courses").status_code == 200
    before = row_counts()
    response = _post_enrolment(api, bio.pk, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert row_counts() == before


def test_rate_limits_are_per_client(make_api, bio):  # type: ignore[no-untyped-def]
    busy = make_api(["roster:read"], rate=1)
    calm = make_api(["roster:read"], rate=1)
    assert busy.get("/api/v1/courses").status_code == 200
    assert busy.get("/api/v1/courses").status_code == 429
    assert calm.get("/api/v1/courses").status_code == 200


def test_it_answers_413_to_an_oversized_body_and_writes_nothing(make_api, bio, settings):  # type: ignore[no-untyped-def]
    settings.API = {**settings.API, "MAX_BODY_BYTES": 1024}
    api = make_api(["enrollments:write"])
    before = row_counts()
    body = {**PROVISION, "course": bio.pk, "padding": "x" * 2000}
    response = api.post("/api/v1/enrollments", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 413
    assert row_counts() == before


def test_last_used_time_is_recorded_on_success_only(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    assert api.get("/api/v1/enrollments?updated_since=yesterday").status_code == 400
    assert ApiClient.objects.get(pk=api.api_client.pk).last_used_at is None
    assert api.get("/api/v1/courses").status_code == 200
    assert ApiClient.objects.get(pk=api.api_client.pk).last_used_at is not None


def test_unknown_scopes_are_refused_at_creation(db):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="roster:delete"):
        services.api_client_create(name="x", scopes=["roster:delete"], created_by="t")
