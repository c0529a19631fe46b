"""The AGS client against the sandbox platform's AGS endpoints, over real HTTP."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
import requests

from lms_tool.lti import ags
from lms_tool.lti import service_client as sc
from lms_tool.sandbox.services.ags import gradebook, line_item_add, lineitems_url

from ..conftest import registration_of


def test_it_follows_every_page_of_line_items_with_the_url_case_kept(canvas, course):
    for n in range(5):
        line_item_add(canvas, course, label=f"Quiz {n}", resource_link_id=f"rl-{n}")
    gradebook(canvas).page_size = 2

    items = list(ags.line_items_list(registration_of(canvas), lineitems_url(canvas, course.context_id)))

    assert [i["label"] for i in items] == [f"Quiz {n}" for n in range(5)]
    pages = [path for method, path in canvas.requests_seen if path.endswith("/lineitems")]
    assert len(pages) == 3


def test_the_platform_refuses_a_next_link_whose_case_was_changed(canvas, course):
    for n in range(3):
        line_item_add(canvas, course, label=f"Quiz {n}")
    gradebook(canvas).page_size = 2
    registration = registration_of(canvas)
    first = sc.call(registration, "GET", lineitems_url(canvas, course.context_id), scopes=(sc.SCOPE_LINEITEM,))
    link = sc.next_link(first)
    assert link is not None and link != link.lower(), "the sandbox's next link should be mixed-case"

    with pytest.raises(sc.ServiceRefused) as refused:
        sc.call(registration, "GET", link.lower(), scopes=(sc.SCOPE_LINEITEM,))

    assert refused.value.status == 400
    assert len(sc.call(registration, "GET", link, scopes=(sc.SCOPE_LINEITEM,)).json()) == 1


def test_it_finds_line_items_by_resource_link_without_listing_all(canvas, course):
    for n in range(4):
        line_item_add(canvas, course, label=f"Quiz {n}", resource_link_id=f"rl-{n}", tag="quiz")

    found = list(
        ags.line_items_list(registration_of(canvas), lineitems_url(canvas, course.context_id), resource_link_id="rl-2")
    )

    assert [i["label"] for i in found] == ["Quiz 2"]


def test_it_creates_reads_updates_and_deletes_a_line_item(platform, course):
    registration = registration_of(platform)
    container = lineitems_url(platform, course.context_id)

    created = ags.line_item_create(
        registration,
        container,
        label="Essay",
        score_maximum=20,
        resource_link_id="rl-9",
        resource_id="essay-1",
        tag="essay",
    )
    url = created["id"]
    assert ags.line_item_get(registration, url)["label"] == "Essay"

    updated = ags.line_item_update(registration, url, {"label": "Essay (final)", "scoreMaximum": 25})
    assert (updated["label"], updated["scoreMaximum"]) == ("Essay (final)", 25)

    ags.line_item_delete(registration, url)
    with pytest.raises(sc.ServiceRefused) as gone:
        ags.line_item_get(registration, url)
    assert gone.value.status == 404


def test_a_line_item_without_a_label_is_refused(canvas, course):
    with pytest.raises(sc.ServiceRefused) as refused:
        ags.line_item_create(
            registration_of(canvas), lineitems_url(canvas, course.context_id), label="", score_maximum=10
        )

    assert refused.value.status == 400


def test_scores_go_to_the_line_item_path_with_its_query_kept():
    assert (
        ags.service_url("https://moodle.example/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1", "scores")
        == "https://moodle.example/mod/lti/services.php/2/lineitems/5/lineitem/scores?type_id=1"
    )
    assert (
        ags.service_url("https://canvas.example/api/lti/courses/1/line_items/7/", "results")
        == "https://canvas.example/api/lti/courses/1/line_items/7/results"
    )


def test_it_reads_results_page_by_page(platform, course, student):
    registration = registration_of(platform)
    url = line_item_add(platform, course, label="Quiz")
    ags.score_post(
        registration,
        url,
        {
            "userId": student.user_id,
            "scoreGiven": 3,
            "scoreMaximum": 4,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": "2026-01-01T10:00:00.000+00:00",
        },
    )

    results = list(ags.results_list(registration, url, limit=1))

    assert [(r["userId"], r["resultScore"], r["resultMaximum"]) for r in results] == [(student.user_id, 3, 4)]


def test_the_endpoints_want_a_valid_bearer_token(canvas, course):
    url = lineitems_url(canvas, course.context_id)
    headers = {"User-Agent": "test"}

    assert requests.get(url, headers=headers, timeout=5).status_code == 401
    assert requests.get(url, headers={**headers, "Authorization": "Bearer not.a.jwt"}, timeout=5).status_code == 401


def test_a_token_without_the_scope_is_refused(canvas, course):
    registration = registration_of(canvas)
    token = sc.access_token(registration, (sc.SCOPE_SCORE,))

    answer = requests.get(
        lineitems_url(canvas, course.context_id),
        headers={"Authorization": f"Bearer {token}", "User-Agent": "test"},
        timeout=5,
    )

    assert answer.status_code == 403


def test_canvas_refuses_calls_without_a_user_agent(canvas, course):
    token = sc.access_token(registration_of(canvas), (sc.SCOPE_LINEITEM,))
    url = urlsplit(lineitems_url(canvas, course.context_id))
    connection = http.client.HTTPConnection(url.netloc, timeout=5)  # sends no User-Agent of its own

    connection.request("GET", url.path, headers={"Authorization": f"Bearer {token}"})

    assert connection.getresponse().status == 403
