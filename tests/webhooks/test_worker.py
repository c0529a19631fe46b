"""End to end with a real Celery worker (PostgreSQL + Redis): API writes -> domain events -> signed
deliveries to a receiver that fails on purpose for a while; nothing lost, each accepted once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.webhooks.models import Delivery, DeliveryState

from ..celery_worker import Worker, celery_worker, needs_worker_services, wait_for
from .receiver import Receiver

needs_services = needs_worker_services


@pytest.fixture
def worker(transactional_db: None) -> Iterator[Worker]:
    env = {
        "HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_RETRY_CAP_SECONDS": "1",
        "WEBHOOK_MAX_ATTEMPTS": "6",
    }
    with celery_worker(env=env, pool="threads", concurrency=4) as running:
        yield running


@needs_services
@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_every_event_through_failures(worker, make_api, bio, loopback_allowed):  # type: ignore[no-untyped-def]
    receiver = Receiver(fail_first=2).start()
    try:
        api = make_api(["webhooks:write", "enrollments:write"])
        created = api.post(
            "/api/v1/webhooks/subscriptions",
            {"name": "SIS", "url": receiver.url, "events": ["enrollment.*"]},
            format="json",
        )
        receiver.secret = created.json()["secret"]
        ids = []
        for i in range(5):
            response = api.post("/api/v1/enrollments", {"course": bio.pk, "user": {"sub": f"w{i}"}}, format="json")
            ids.append(response.json()["id"])
        api.delete(f"/api/v1/enrollments/{ids[0]}")
        assert wait_for(lambda: len(receiver.accepted) == 6), (dict(receiver.tries), worker.output())
        assert all(count == 1 for count in receiver.accepted.values())
        assert all(receiver.tries[i] == 3 for i in receiver.accepted)
        assert receiver.bad_signatures == 0
        assert sorted(b["type"] for b in receiver.bodies.values()) == ["enrollment.added"] * 5 + ["enrollment.removed"]
        assert wait_for(lambda: set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED})
    finally:
        receiver.stop()
