"""An API client manages its own subscriptions and replays its own dead letters."""

from __future__ import annotations

import pytest

from lms_tool.core.events import event_record
from lms_tool.core.models import AuditEvent
from lms_tool.webhooks import delivery
from lms_tool.webhooks.models import Delivery, DeliveryState, Subscription
from tests.api.conftest import row_counts

pytestmark = pytest.mark.django_db


def _create(api, url: str, events=("enrollment.*",)):  # type: ignore[no-untyped-def]
    return api.post(
        "/api/v1/webhooks/subscriptions", {"name": "SIS", "url": url, "events": list(events)}, format="json"
    )


def test_a_client_subscribes_and_gets_the_secret_once(make_api, receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    api = make_api(["webhooks:read", "webhooks:write"])
    response = _create(api, receiver.url)
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"] not in str(Subscription.objects.values().get())  # encrypted at rest
    listed = api.get("/api/v1/webhooks/subscriptions").json()["results"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]
    assert AuditEvent.objects.filter(action="webhook_subscription.created", actor_id=api.api_client.client_id).exists()


def test_a_client_changes_and_deletes_only_its_own_subscriptions(make_api, receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    owner = make_api(["webhooks:read", "webhooks:write"])
    other = make_api(["webhooks:read", "webhooks:write"])
    pk = _create(owner, receiver.url).json()["id"]
    # Another client's subscription answers as a missing one (docs/api.md, "Reach").
    assert other.patch(f"/api/v1/webhooks/subscriptions/{pk}", {"is_active": False}, format="json").status_code == 404
    assert other.get("/api/v1/webhooks/subscriptions").json()["results"] == []
    changed = owner.patch(f"/api/v1/webhooks/subscriptions/{pk}", {"events": ["*"], "is_active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["events"] == ["*"] and not changed.json()["is_active"]
    assert owner.delete(f"/api/v1/webhooks/subscriptions/{pk}").status_code == 200
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("http://localhost:9/x", ["*"], "url"),  # loopback, not allowed by the admin
        ("http://10.1.2.3/x", ["*"], "url"),  # private
        ("http://[::1]:9/x", ["*"], "url"),
        ("ftp://127.0.0.1/x", ["*"], "url"),
        ("not a url", ["*"], "url"),
        ("http://127.0.0.1:9/x", [], "events"),
        ("http://127.0.0.1:9/x", ["NOT AN EVENT"], "events"),
    ],
)
def test_bad_subscriptions_are_400_and_write_nothing(make_api, settings, url, events, field):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    api = make_api(["webhooks:write"])
    before = row_counts()
    response = _create(api, url, events)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert row_counts() == before


def test_a_client_lists_and_replays_its_dead_letters(make_api, receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    api = make_api(["webhooks:read", "webhooks:write"])
    body = _create(api, receiver.url, ["*"]).json()
    receiver.secret, receiver.always_fail = body["secret"], True
    event = event_record(type="enrollment.added", subject_type="membership", subject_id=1, data={})
    for pk in delivery.event_fan_out(event_pk=event.pk):
        while delivery.delivery_attempt(delivery_pk=pk) is not None:
            pass
    dead = api.get("/api/v1/webhooks/deliveries?state=dead").json()["results"]
    assert [d["event_id"] for d in dead] == [str(event.event_id)]
    receiver.always_fail = False
    replay = api.post(f"/api/v1/webhooks/deliveries/{dead[0]['id']}/replay", HTTP_IDEMPOTENCY_KEY="r1")
    assert replay.status_code == 202 and replay.json()["state"] == "pending"
    delivery.delivery_attempt(delivery_pk=dead[0]["id"])
    assert Delivery.objects.get().state == DeliveryState.DELIVERED
    assert receiver.accepted[str(event.event_id)] == 1
    assert AuditEvent.objects.filter(action="webhook_delivery.replayed").count() == 1
