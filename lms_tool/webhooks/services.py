"""Subscriptions and replays (writes made by admins and API clients); audited."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from lms_tool.core import crypto, http
from lms_tool.core.errors import ToolError
from lms_tool.core.services import audit_record

from . import signing
from .models import Delivery, DeliveryState, Subscription

if TYPE_CHECKING:
    # For the type only: api imports webhooks, never the reverse (docs/architecture.md, "Layers").
    from lms_tool.api.models import ApiClient

logger = logging.getLogger(__name__)
EVENT_PATTERN = re.compile(r"^(\*|[a-z_]+\.(\*|[a-z_]+))$")


class SubscriptionInvalid(ToolError):
    """A subscription field an admin or API client must fix; ``field`` names it."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message, status=400)
        self.field = field


def events_check(events: list[str]) -> list[str]:
    """The event patterns, or ToolError (400) naming the bad ones."""
    bad = [e for e in events if not isinstance(e, str) or not EVENT_PATTERN.match(e)]
    if bad or not events:
        raise SubscriptionInvalid(
            f"Event types look like 'enrollment.removed', 'enrollment.*' or '*'; refused: {bad or '[]'}", field="events"
        )
    return sorted(set(events))


def url_check(url: str) -> str:
    """Refuse ambiguous URLs and URLs that resolve to private or loopback addresses now, not at the
    first delivery (which checks again on the address it connects to: DNS may change)."""
    try:
        http.check_public_url(url)
    except http.AmbiguousUrlError as exc:
        logger.info("webhook URL refused as ambiguous: %r", url.split("?", 1)[0])
        raise SubscriptionInvalid(
            "The webhook URL is not allowed: it must be a plain http(s) URL with a host name, without a user "
            "name or password, backslashes, spaces or control characters.",
            field="url",
        ) from exc
    except http.BlockedAddressError as exc:
        # One message whether the host is private, loopback or does not resolve, so subscription
        # creation cannot be used to map which internal names exist (the detail is logged).
        logger.info("webhook URL refused: %s", exc)
        raise SubscriptionInvalid(f"The webhook URL is not allowed: {http.UNREACHABLE}.", field="url") from exc
    return url


def _forget() -> None:
    from .tasks import listening_forget  # tasks import the delivery module

    listening_forget()


@transaction.atomic
def subscription_create(
    *, name: str, url: str, events: list[str], actor_type: str, actor_id: str, api_client: ApiClient | None = None
) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (``whsec_...``), which the caller shows once."""
    secret = signing.secret_new()
    events = events_check(events)  # the cheap check first: url_check resolves the host
    subscription = Subscription.objects.create(
        name=name,
        url=url_check(url),
        events=events,
        secret_encrypted=crypto.encrypt(secret),
        api_client=api_client,
    )
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="webhook_subscription.created",
        object_type="webhook_subscription",
        object_id=subscription.pk,
        after={"url": url, "events": subscription.events},
    )
    transaction.on_commit(_forget)
    return subscription, secret


@transaction.atomic
def subscription_update(
    *,
    subscription: Subscription,
    actor_type: str,
    actor_id: str,
    url: str | None = None,
    events: list[str] | None = None,
    is_active: bool | None = None,
    name: str | None = None,
) -> Subscription:
    before = {"url": subscription.url, "events": subscription.events, "is_active": subscription.is_active}
    if url is not None:
        subscription.url = url_check(url)
    if events is not None:
        subscription.events = events_check(events)
    if is_active is not None:
        subscription.is_active = is_active
    if name is not None:
        subscription.name = name
    subscription.save()
    transaction.on_commit(_forget)
    after = {"url": subscription.url, "events": subscription.events, "is_active": subscription.is_active}
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="webhook_subscription.changed",
        object_type="webhook_subscription",
        object_id=subscription.pk,
        before=before,
        after=after,
    )
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: Subscription, actor_type: str, actor_id: str) -> None:
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="webhook_subscription.deleted",
        object_type="webhook_subscription",
        object_id=subscription.pk,
        before={"url": subscription.url, "events": subscription.events},
    )
    subscription.delete()
    transaction.on_commit(_forget)


@transaction.atomic
def delivery_replay(*, delivery: Delivery, actor_type: str, actor_id: str) -> Delivery:
    """Send a delivery again (dead-lettered or delivered), with a fresh set of attempts."""
    from .tasks import webhook_deliver  # tasks import the delivery module, which imports this one's models

    before = {"state": delivery.state, "attempts": delivery.attempts}
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_until=None,
        last_error="",
        delivered_at=None,
    )
    audit_record(
        actor_type=actor_type,
        actor_id=actor_id,
        action="webhook_delivery.replayed",
        object_type="webhook_delivery",
        object_id=delivery.pk,
        before=before,
        after={"state": "pending"},
    )
    pk = delivery.pk
    transaction.on_commit(lambda: webhook_deliver.delay(pk))
    delivery.refresh_from_db()
    return delivery
