"""/metrics: for the monitoring network only; counters follow launches and score posts; no course or person
in any label."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from lms_tool.grading import services as grading
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.ags import line_item_add

from ..conftest import registration_of
from ..grading.conftest import drain, seat
from ..lti.flow import error_code, start

pytestmark = pytest.mark.django_db

ALLOWED_LABELS = {"registration", "name", "queue", "outcome", "code", "kind", "state", "le"}


@pytest.fixture(autouse=True)
def _passback_by_hand(settings):  # type: ignore[no-untyped-def]
    settings.GRADING_PASSBACK_ENABLED = False  # the test posts through the service itself, as a worker would
    settings.GRADING_RETRY_BASE_SECONDS = 0.005
    settings.GRADING_RETRY_CAP_SECONDS = 0.02


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(tool_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(f"{tool_url}/metrics", timeout=10)  # the live server sees 127.0.0.1: allowed
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain")
    return _samples(response.text)


def test_it_refuses_an_address_outside_the_monitoring_network(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]

    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    allowed = client.get("/metrics", REMOTE_ADDR="10.20.3.4")

    assert refused.status_code == 403
    assert b"METRICS_ALLOWED_NETWORKS" in refused.content and b"lms_" not in refused.content
    assert allowed.status_code == 200 and b"lms_score_outbox_depth" in allowed.content


def test_by_default_only_loopback_may_scrape(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.10").status_code == 403


def test_a_request_a_reverse_proxy_forwarded_is_refused_even_from_loopback(client, settings):
    """nginx on the same host: every visitor arrives from 127.0.0.1, with a forwarding header."""
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **{header: "203.0.113.7"}).status_code == 403
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    proxied = client.get(
        "/metrics",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="10.0.0.5",
        HTTP_AUTHORIZATION="Bearer scrape-token-0123456789",
    )
    assert proxied.status_code == 200  # a scraper behind the proxy uses the token


def test_a_bearer_token_lets_a_scraper_in_from_elsewhere(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"

    good = client.get("/metrics", REMOTE_ADDR="198.51.100.1", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    wrong = client.get("/metrics", REMOTE_ADDR="198.51.100.1", HTTP_AUTHORIZATION="Bearer scrape-token-9")

    assert (good.status_code, wrong.status_code) == (200, 403)


def test_counters_move_after_a_launch_a_refusal_and_a_score_post(canvas, course, student, tool_url):
    url = line_item_add(canvas, course, label="Quiz 1", resource_link_id="rl-1")
    before = _scrape(tool_url)
    registration = str(registration_of(canvas).pk)
    launched = ("lms_launches_total", (("code", "none"), ("outcome", "launched")))
    refused = ("lms_launches_total", (("code", "nonce_reused"), ("outcome", "refused")))

    learner = seat(canvas, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))
    pending = start(canvas, LaunchSpec(student, course, resource_link_id="rl-1"))
    assert pending.post().status_code == 200
    replayed = pending.session.post(pending.launch_url, data=pending.fields, timeout=10)
    code = error_code(replayed)
    assert code, replayed.text[:300]
    refused = ("lms_launches_total", (("code", code), ("outcome", "refused")))
    grading.score_submit(user=learner.user, resource_link=learner.link, score_given=8, score_maximum=10)
    mid = _scrape(tool_url)
    drain()
    after = _scrape(tool_url)

    assert after[launched] - before.get(launched, 0) == 2
    assert after[refused] - before.get(refused, 0) == 1
    reg = (("registration", registration),)
    assert mid[("lms_score_outbox_depth", reg)] == 1 and after[("lms_score_outbox_depth", reg)] == 0
    assert before.get(("lms_scores_posted_total", reg), 0) == 0 and after[("lms_scores_posted_total", reg)] == 1
    assert after[("lms_score_post_latency_seconds_count", reg)] == 1
    assert after[("lms_score_post_latency_seconds_bucket", (("le", "+Inf"), *reg))] == 1


def test_no_label_names_a_course_or_a_person(canvas, course, student, tool_url):
    url = line_item_add(canvas, course, label="Quiz 1", resource_link_id="rl-1")
    learner = seat(canvas, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))
    grading.score_submit(user=learner.user, resource_link=learner.link, score_given=8, score_maximum=10)

    samples = _scrape(tool_url)

    names = {name for _, labels in samples for name, _ in labels}
    values = {value for _, labels in samples for _, value in labels}
    assert names <= ALLOWED_LABELS
    for private in (course.title, course.context_id, student.name, student.user_id, student.email, "rl-1"):
        assert not any(private in value for value in values), private
