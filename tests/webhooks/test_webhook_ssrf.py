"""Webhook subscriptions cannot be aimed at the tool's own network (blind SSRF, port scanning)."""

from __future__ import annotations

import socket

import pytest

from lms_tool.core import http
from lms_tool.core.events import event_record
from lms_tool.webhooks import delivery, services
from lms_tool.webhooks.models import Delivery, DeliveryState, Subscription
from tests.api.conftest import row_counts

pytestmark = pytest.mark.django_db


def _create(api, url: str):  # type: ignore[no-untyped-def]
    return api.post("/api/v1/webhooks/subscriptions", {"name": "SIS", "url": url, "events": ["*"]}, format="json")


def _closed_port() -> int:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://localhost:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://[::127.0.0.1]:{port}/hook",
        "http://[64:ff9b::7f00:1]:{port}/hook",
        "http://[2002:7f00:1::1]:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_it_refuses_a_subscription_to_a_private_address_with_400_and_writes_nothing(make_api, settings, receiver, url):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    api = make_api(["webhooks:write"])
    before = row_counts()
    response = _create(api, url.format(port=receiver.server.server_address[1]))
    assert response.status_code == 400, response.json()
    assert http.UNREACHABLE in str(response.json()["errors"]["url"])
    assert row_counts() == before
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{port}\\@sis.example/hook",  # urlparse reads sis.example, urllib3 127.0.0.1
        "https://sis.example\\@127.0.0.1:{port}/hook",
        "https://user:pw@127.0.0.1:{port}/hook",
        "https://127.0.0.1:{port}/a\\@sis.example/hook",
    ],
)
def test_it_refuses_an_ambiguous_subscription_url_with_400_and_writes_nothing(make_api, receiver, url):  # type: ignore[no-untyped-def]
    # 127.0.0.1 is allow-listed in tests: only the ambiguity may stop these.
    api = make_api(["webhooks:write"])
    before = row_counts()
    response = _create(api, url.format(port=receiver.server.server_address[1]))
    assert response.status_code == 400, response.json()
    assert "without a user name or password, backslashes" in str(response.json()["errors"]["url"])
    assert row_counts() == before


def test_an_open_and_a_closed_private_port_give_the_same_answer(make_api, settings, receiver):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    api = make_api(["webhooks:write"])
    open_port = _create(api, f"http://127.0.0.1:{receiver.server.server_address[1]}/hook")
    closed_port = _create(api, f"http://127.0.0.1:{_closed_port()}/hook")
    unresolvable = _create(api, "http://no-such-host.invalid/hook")
    assert open_port.status_code == closed_port.status_code == unresolvable.status_code == 400
    assert open_port.json() == closed_port.json() == unresolvable.json()
    assert not receiver.tries


def test_deliveries_to_an_open_and_a_closed_private_port_fail_alike_and_stop(receiver, settings):  # type: ignore[no-untyped-def]
    """Subscriptions made while their hosts were allowed (or resolved publicly) and now private:
    each delivery fails at once with the same recorded reason, dead-lettered rather than retried."""
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    for url in (receiver.url, f"http://127.0.0.1:{_closed_port()}/hook"):
        services.subscription_create(name="SIS", url=url, events=["*"], actor_type="admin", actor_id="t")
    event = event_record(type="enrollment.added", subject_type="membership", subject_id=1, data={})
    pks = delivery.event_fan_out(event_pk=event.pk)
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []  # as if DNS now answered a private address
    assert [delivery.delivery_attempt(delivery_pk=pk) for pk in pks] == [None, None]
    rows = list(Delivery.objects.values_list("state", "attempts", "last_status", "last_error"))
    assert rows == [(DeliveryState.DEAD, 1, None, http.UNREACHABLE)] * 2
    assert not receiver.tries


def test_a_closed_public_port_is_retried_with_the_same_reason_shown(settings):  # type: ignore[no-untyped-def]
    """Network failures on an allowed address are retried, and read the same as a blocked one."""
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.WEBHOOKS = {**settings.WEBHOOKS, "MAX_ATTEMPTS": 3, "RETRY_BASE_SECONDS": 0.01}
    services.subscription_create(
        name="SIS", url=f"http://127.0.0.1:{_closed_port()}/hook", events=["*"], actor_type="admin", actor_id="t"
    )
    event = event_record(type="enrollment.added", subject_type="membership", subject_id=1, data={})
    (pk,) = delivery.event_fan_out(event_pk=event.pk)
    assert delivery.delivery_attempt(delivery_pk=pk) is not None  # a retry is scheduled
    row = Delivery.objects.get()
    assert (row.state, row.last_error) == (DeliveryState.PENDING, http.UNREACHABLE)


def test_an_allowed_receiver_still_gets_its_deliveries(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    """The control: the same path to an allowed address delivers."""
    _, receiver.secret = services.subscription_create(
        name="SIS", url=receiver.url, events=["*"], actor_type="admin", actor_id="t"
    )
    event = event_record(type="enrollment.added", subject_type="membership", subject_id=1, data={})
    (pk,) = delivery.event_fan_out(event_pk=event.pk)
    assert delivery.delivery_attempt(delivery_pk=pk) is None
    assert Delivery.objects.get().state == DeliveryState.DELIVERED
    assert receiver.accepted[str(event.event_id)] == 1
