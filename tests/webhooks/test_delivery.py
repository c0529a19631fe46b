"""Deliveries to a receiver on 127.0.0.1 that verifies signatures and fails on purpose for a while."""

from __future__ import annotations

import pytest

from lms_tool.api import services as api_services
from lms_tool.core import http
from lms_tool.core.events import event_record
from lms_tool.core.models import DomainEvent
from lms_tool.webhooks import delivery, services
from lms_tool.webhooks.models import Delivery, DeliveryState, EventFanout, Subscription

from .receiver import Receiver

pytestmark = pytest.mark.django_db


def _subscribe(receiver: Receiver, events: list[str], **kwargs) -> services.Subscription:  # type: ignore[no-untyped-def]
    subscription, secret = services.subscription_create(
        name="SIS", url=receiver.url, events=events, actor_type="admin", actor_id="test", **kwargs
    )
    receiver.secret = secret
    return subscription


def _events(n: int, type_: str = "enrollment.added", context_pk: int | None = None) -> list[DomainEvent]:
    return [
        event_record(
            type=type_, subject_type="membership", subject_id=i, data={"user_id": f"u{i}"}, context_pk=context_pk
        )
        for i in range(n)
    ]


def _drain(pks: list[int], limit: int = 50) -> None:
    """What the worker does: try each delivery until it needs no further try (bounded)."""
    for pk in pks:
        for _ in range(limit):
            if delivery.delivery_attempt(delivery_pk=pk) is None:
                break


def test_it_delivers_every_event_once_accepted_despite_failures(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    receiver.fail_first = 2
    _subscribe(receiver, ["enrollment.*"])
    events = _events(5)
    pks = [pk for e in events for pk in delivery.event_fan_out(event_pk=e.pk)]
    _drain(pks)
    ids = {str(e.event_id) for e in events}
    assert set(receiver.accepted) == ids  # nothing lost
    assert all(count == 1 for count in receiver.accepted.values())  # accepted once each
    assert all(receiver.tries[i] == 3 for i in ids)  # retried until accepted, never after
    assert receiver.bad_signatures == 0
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {3}


def test_the_body_is_the_standard_webhooks_shape_with_the_stable_event_id(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    _subscribe(receiver, ["*"])
    (event,) = _events(1, "enrollment.removed", context_pk=7)
    _drain(delivery.event_fan_out(event_pk=event.pk))
    body = receiver.bodies[str(event.event_id)]
    assert body["type"] == "enrollment.removed"
    assert body["data"]["user_id"] == "u0"
    assert body["data"]["course"] == 7
    assert body["timestamp"].startswith(event.created_at.isoformat()[:19])


def test_it_dead_letters_after_the_last_try_and_a_replay_delivers(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    receiver.always_fail = True
    _subscribe(receiver, ["enrollment.added"])
    (event,) = _events(1)
    _drain(delivery.event_fan_out(event_pk=event.pk))
    dead = Delivery.objects.get()
    assert dead.state == DeliveryState.DEAD
    assert dead.attempts == 4
    assert "HTTP 500" in dead.last_error
    receiver.always_fail = False
    services.delivery_replay(delivery=dead, actor_type="admin", actor_id="ops")
    _drain([dead.pk])
    dead.refresh_from_db()
    assert dead.state == DeliveryState.DELIVERED
    assert receiver.accepted[str(event.event_id)] == 1


def test_it_sends_only_the_events_a_subscription_asked_for(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    _subscribe(receiver, ["enrollment.removed"])
    wanted = _events(1, "enrollment.removed")
    other = _events(1, "score.posted")
    assert delivery.event_fan_out(event_pk=other[0].pk) == []
    _drain(delivery.event_fan_out(event_pk=wanted[0].pk))
    assert set(receiver.accepted) == {str(wanted[0].event_id)}


def test_a_fan_out_happens_once_per_event(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    _subscribe(receiver, ["*"])
    (event,) = _events(1)
    assert len(delivery.event_fan_out(event_pk=event.pk)) == 1
    assert delivery.event_fan_out(event_pk=event.pk) == []
    assert Delivery.objects.count() == 1


def test_an_api_clients_subscription_hears_only_its_courses(receiver, loopback_allowed, make_api, bio, chem):  # type: ignore[no-untyped-def]
    api = make_api(["webhooks:write"], contexts=[bio])
    _subscribe(receiver, ["*"], api_client=api.api_client)
    inside = _events(1, context_pk=bio.pk)[0]
    outside = _events(1, context_pk=chem.pk)[0]
    nowhere = _events(1)[0]
    assert delivery.event_fan_out(event_pk=outside.pk) == []
    assert delivery.event_fan_out(event_pk=nowhere.pk) == []
    assert len(delivery.event_fan_out(event_pk=inside.pk)) == 1


def test_a_loopback_url_is_refused_unless_an_admin_allows_it(receiver, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(services.ToolError):
        services.subscription_create(name="x", url=receiver.url, events=["*"], actor_type="admin", actor_id="t")


def test_a_url_that_turns_private_later_is_refused_at_send_time(receiver, loopback_allowed, settings):  # type: ignore[no-untyped-def]
    _subscribe(receiver, ["*"])
    (event,) = _events(1)
    pks = delivery.event_fan_out(event_pk=event.pk)
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    assert delivery.delivery_attempt(delivery_pk=pks[0]) is None  # no retry of a blocked address
    row = Delivery.objects.get()
    assert (row.state, row.attempts) == (DeliveryState.DEAD, 1)
    assert row.last_error == http.UNREACHABLE  # the reason a subscriber reads; the log says "non-public"
    assert not receiver.tries


def test_a_leased_delivery_is_not_sent_twice_at_once(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    _subscribe(receiver, ["*"])
    (event,) = _events(1)
    (pk,) = delivery.event_fan_out(event_pk=event.pk)
    assert delivery._claim(pk) is not None
    assert delivery.delivery_attempt(delivery_pk=pk) is None  # another worker holds the lease
    assert not receiver.tries


def test_the_sweeper_finds_events_and_deliveries_whose_task_was_lost(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    subscription = _subscribe(receiver, ["*"])
    type(subscription).objects.update(created_at=timezone.now() - timedelta(hours=1))
    (event,) = _events(1)
    later = timezone.now() + timedelta(minutes=5)
    assert delivery.events_not_fanned_out(now=later) == [event.pk]
    pks = delivery.event_fan_out(event_pk=event.pk)
    assert delivery.events_not_fanned_out(now=later) == []
    assert EventFanout.objects.filter(event=event).exists()
    assert delivery.due_deliveries(now=later) == pks


@pytest.mark.parametrize("reach", ["all", "one course"])
def test_a_revoked_api_client_hears_no_more_events(receiver, loopback_allowed, make_api, bio, reach):  # type: ignore[no-untyped-def]
    """A revoked (say, leaked) client's subscriptions stop with it: no signed event leaves for its URL."""
    api = make_api(["webhooks:write"], **({"all_contexts": True} if reach == "all" else {"contexts": [bio]}))
    subscription = _subscribe(receiver, ["*"], api_client=api.api_client)
    assert len(delivery.event_fan_out(event_pk=_events(1, context_pk=bio.pk)[0].pk)) == 1

    api_services.api_client_revoke(client=api.api_client, actor="admin")

    assert not Subscription.objects.get(pk=subscription.pk).is_active
    # Even a subscription switched back on by mistake sends nothing for a revoked client.
    Subscription.objects.filter(pk=subscription.pk).update(is_active=True)
    assert delivery.event_fan_out(event_pk=_events(1, context_pk=bio.pk)[0].pk) == []


def test_a_receiver_answering_a_redirect_is_not_followed_and_the_delivery_is_retried(receiver, loopback_allowed):  # type: ignore[no-untyped-def]
    elsewhere = Receiver().start()
    try:
        _subscribe(receiver, ["*"])
        elsewhere.secret = receiver.secret
        receiver.redirect_to = elsewhere.url
        (pk,) = delivery.event_fan_out(event_pk=_events(1)[0].pk)

        wait = delivery.delivery_attempt(delivery_pk=pk)

        row = Delivery.objects.get(pk=pk)
        assert wait is not None and row.state == DeliveryState.PENDING and row.attempts == 1
        assert row.last_status == 307 and row.last_error.startswith("HTTP 307")
        assert not elsewhere.tries, "the redirect's target was never sent the event"
    finally:
        elsewhere.stop()


def test_a_receiver_slower_than_the_webhook_timeout_is_a_failed_try_not_a_wait(receiver, loopback_allowed, settings):  # type: ignore[no-untyped-def]
    # The tool's general HTTP timeout would wait for the answer; the webhooks' own (shorter) one does not.
    settings.HTTP_TIMEOUT_SECONDS = 30
    settings.WEBHOOKS = {**settings.WEBHOOKS, "TIMEOUT_SECONDS": 0.2}
    receiver.delay = 1.0
    _subscribe(receiver, ["*"])
    (pk,) = delivery.event_fan_out(event_pk=_events(1)[0].pk)

    wait = delivery.delivery_attempt(delivery_pk=pk)

    row = Delivery.objects.get(pk=pk)
    assert wait is not None and row.state == DeliveryState.PENDING and row.attempts == 1
    assert row.last_status is None and row.last_error == http.UNREACHABLE
