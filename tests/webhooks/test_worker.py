"""End to end with a real Celery worker (PostgreSQL + Redis): API writes -> domain events -> signed
deliveries to a receiver that fails on purpose for a while; nothing lost, each accepted once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from lms_tool.webhooks.models import Delivery, DeliveryState

from .receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
needs_services = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
    reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): a worker shares the test database",
)


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db: None) -> Iterator[subprocess.Popen]:
    from lti_config.celery import app

    app.control.purge()  # messages left by earlier runs point at rows that no longer exist
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_RETRY_CAP_SECONDS": "1",
        "WEBHOOK_MAX_ATTEMPTS": "6",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lti_config",
            "worker",
            "-P",
            "threads",
            "-c",
            "4",
            "-l",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_for(condition, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


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
        assert _wait_for(lambda: len(receiver.accepted) == 6), (dict(receiver.tries), worker.poll())
        assert all(count == 1 for count in receiver.accepted.values())
        assert all(receiver.tries[i] == 3 for i in receiver.accepted)
        assert receiver.bad_signatures == 0
        assert sorted(b["type"] for b in receiver.bodies.values()) == ["enrollment.added"] * 5 + ["enrollment.removed"]
        assert _wait_for(lambda: set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED})
    finally:
        receiver.stop()
