"""The sandbox platform's NRPS endpoint behaves as NRPS 2.0 says (the tests above rely on it)."""

from __future__ import annotations

import requests

from lms_tool.lti import service_client as sc
from lms_tool.sandbox.services import nrps as sandbox_nrps

from ..conftest import registration_of


def get(url, token=None, **params):
    headers = {"Accept": sandbox_nrps.MEDIA_TYPE, **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.get(url, params=params, headers=headers, timeout=10)


def test_pages_link_to_the_next_with_mixed_case_urls(canvas, course, context):
    token = sc.access_token(registration_of(canvas), [sc.SCOPE_NRPS])
    first = get(context.nrps_url, token, limit=4)

    assert first.status_code == 200
    assert first.headers["Content-Type"] == sandbox_nrps.MEDIA_TYPE
    body = first.json()
    assert body["context"]["id"] == "course-101" and len(body["members"]) == 4
    next_url = first.links["next"]["url"]
    assert next_url != next_url.lower()
    assert "differences" in first.links
    second = get(next_url, token)
    assert second.status_code == 200 and len(second.json()["members"]) == 2 and "next" not in second.links
    assert get(next_url.lower(), token).status_code == 400  # what pylti1p3's lowercasing would get


def test_it_refuses_a_request_without_a_valid_token(canvas, course, context):
    assert get(context.nrps_url).status_code == 401
    assert get(context.nrps_url, "not-a-jwt").status_code == 401


def test_an_unknown_resource_link_is_refused(canvas, course, context):
    token = sc.access_token(registration_of(canvas), [sc.SCOPE_NRPS])

    assert get(context.nrps_url, token, rlid="nope").status_code == 403


def test_an_unknown_course_is_not_found(canvas, course, context):
    token = sc.access_token(registration_of(canvas), [sc.SCOPE_NRPS])

    assert get(context.nrps_url.replace("course-101", "course-999"), token).status_code == 404
