"""Reads of the API: every queryset is cut to what the calling client may reach."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.lti.models import Context, LtiUser, Membership
from lms_tool.webhooks.models import Delivery, Subscription

from .models import ApiClient

MEMBERSHIP_FIELDS = ("id", "context", "user", "roles", "is_active", "last_launch_at", "created_at", "updated_at")


def contexts_for(*, client: ApiClient) -> QuerySet[Context]:
    return Context.objects.filter(client.context_q()).select_related("registration")


def courses_limit(*, client: ApiClient) -> QuerySet[Context] | None:
    """The courses a person's export or erasure is limited to: None when the client reaches them all."""
    return None if client.all_contexts else contexts_for(client=client)


def users_for(*, client: ApiClient) -> QuerySet[LtiUser]:
    users = LtiUser.objects.all()
    if client.all_contexts:
        return users
    enrolled = Membership.objects.filter(context__in=client.contexts.all()).values("user_id")
    return users.filter(Q(registration__in=client.registrations.all()) | Q(pk__in=enrolled))


def enrollments_for(*, client: ApiClient) -> QuerySet[Membership]:
    # Only the columns the API shows: names and emails are encrypted, and decrypting them (or building
    # course objects) for every row would dominate a 100,000-row sync.
    rows = Membership.objects.filter(client.context_q("context")).select_related("user")
    return rows.only(*MEMBERSHIP_FIELDS, "user__sub")


def events_for(*, client: ApiClient) -> QuerySet[DomainEvent]:
    """Domain events of reachable courses; events tied to no course only for clients that reach all."""
    if client.all_contexts:
        return DomainEvent.objects.all()
    return DomainEvent.objects.filter(context_pk__in=contexts_for(client=client).values("pk"))


def audit_for(*, client: ApiClient) -> QuerySet[AuditEvent]:
    """The whole log for clients that reach everything; otherwise the lines this client caused."""
    if client.all_contexts:
        return AuditEvent.objects.all()
    return AuditEvent.objects.filter(actor_type=AuditEvent.Actor.API_CLIENT, actor_id=client.client_id)


def subscriptions_for(*, client: ApiClient) -> QuerySet[Subscription]:
    """The client's own webhook subscriptions (an admin's, or another client's, answer as missing)."""
    return Subscription.objects.filter(api_client=client)


def deliveries_for(*, client: ApiClient) -> QuerySet[Delivery]:
    """Deliveries of the client's own subscriptions, of events still in its reach: a client whose reach
    shrank can no longer read or replay what it was sent about courses it has lost."""
    rows = Delivery.objects.filter(subscription__api_client=client)
    if not client.all_contexts:
        rows = rows.filter(event__context_pk__in=contexts_for(client=client).values("pk"))
    return rows.select_related("event")
