"""Bad input answers 400 with a reason on every endpoint, and writes nothing (never a 500)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.utils import timezone

from lms_tool.api.pagination import _encode
from lms_tool.core import crypto
from lms_tool.webhooks.models import Subscription

from .conftest import enrol, row_counts
from .test_grading_api import _ai_score

pytestmark = pytest.mark.django_db

DEEP = "[" * 30_000 + "]" * 30_000  # under the 64 KiB body limit, far over Python's recursion limit
FORTY = '{"a":' * 40 + "1" + "}" * 40  # decodes fine, but nests deeper than any request needs


@pytest.fixture
def targets(make_api, bio) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An all-reaching client and one real object for each JSON-taking endpoint."""
    api = make_api(["enrollments:write", "reviews:write", "webhooks:write", "privacy:erase"])
    subscription = Subscription.objects.create(
        name="h",
        url="https://sis.example.edu/h",
        events=["*"],
        secret_encrypted=crypto.encrypt("x"),
        api_client=api.api_client,
    )
    return {
        "api": api,
        "urls": [
            ("post", "/api/v1/enrollments"),
            ("post", f"/api/v1/users/{enrol(bio, 'p').user_id}/erase"),
            ("post", f"/api/v1/review-items/{_ai_score(bio).pk}/decision"),
            ("post", "/api/v1/webhooks/subscriptions"),
            ("patch", f"/api/v1/webhooks/subscriptions/{subscription.pk}"),
        ],
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP, "nested more than 32 levels"),
        (FORTY, "nested more than 32 levels"),
        (json.dumps({"course": 1, "user": {"sub": "a\x00b"}}), "$.user.sub holds a NUL character"),
        ('{"course": 1, "user": {"sub": "\\ud800"}}', "unpaired surrogate"),
    ],
    ids=["recursion", "depth-40", "nul", "surrogate"],
)
def test_it_refuses_json_it_cannot_hold_with_400_and_a_reason_on_every_endpoint(targets, body, reason):  # type: ignore[no-untyped-def]
    api = targets["api"]
    before = row_counts()
    for method, url in targets["urls"]:
        response = getattr(api, method)(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=url + method)
        assert response.status_code == 400, (url, response.content[:200])
        assert response.json()["code"] == "parse_error" and reason in response.json()["detail"], url
    assert row_counts() == before


LISTS = ["users", "courses", "enrollments", "attempts", "events", "audit-events", "scores"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2025-09-01T00:00:00+22:33", "offset must be between"),
        ("2025-09-01T00:00:00-13:00", "offset must be between"),
        ("2025-09-01T00:00:00+25:00", "ISO 8601"),
        ("2025-13-01T00:00:00Z", "ISO 8601"),
        ("0001-01-01T00:00:00+01:00", "years 1 to 9999"),
        ("yesterday", "ISO 8601"),
        ("2025-09-01T00:00:00" + "0" * 100, "ISO 8601"),
    ],
)
def test_it_refuses_an_updated_since_it_cannot_use_with_400(make_api, bio, value, reason):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read", "attempts:read", "events:read", "audit:read", "scores:read"])
    for path in LISTS:
        response = api.get(f"/api/v1/{path}?updated_since={quote(value)}")
        assert response.status_code == 400, (path, response.content[:200])
        assert reason in response.json()["errors"]["updated_since"][0], path


def test_an_updated_since_with_a_real_offset_compares_the_same_moment(make_api, bio):  # type: ignore[no-untyped-def]
    membership = enrol(bio, "s1")
    api = make_api(["roster:read"])
    india = timezone.get_fixed_timezone(330)
    just_before = (membership.updated_at - timedelta(seconds=1)).astimezone(india).isoformat()
    just_after = (membership.updated_at + timedelta(seconds=1)).astimezone(india).isoformat()
    assert "+05:30" in just_before
    assert [r["id"] for r in api.get(f"/api/v1/enrollments?updated_since={quote(just_before)}").json()["results"]] == [
        membership.pk
    ]
    assert api.get(f"/api/v1/enrollments?updated_since={quote(just_after)}").json()["results"] == []


def test_a_forged_cursor_is_a_400(make_api, bio):  # type: ignore[no-untyped-def]
    api = make_api(["roster:read"])
    for cursor in (_encode("2025-09-01T00:00:00+22:33", 1), _encode("2025-09-01T00:00:00Z", 2**70), "!!"):
        response = api.get(f"/api/v1/enrollments?cursor={cursor}")
        assert response.status_code == 400 and "cursor" in response.json()["errors"]
