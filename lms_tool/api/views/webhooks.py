"""An API client's own webhook subscriptions and their deliveries (replayable)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from lms_tool.webhooks import services
from lms_tool.webhooks.models import Delivery, Subscription

from .. import selectors
from ..idempotency import idempotent, replayed_as
from .common import DetailApi, ListApi, ObjectApi


class SubscriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


SECRET_SHOWN_ONCE = (
    "The signing secret was shown only in the first answer to this request and is not kept anywhere in the clear. "
    "If it was lost, delete this subscription and create a new one."
)


class SubscriptionCreatedOut(SubscriptionOut):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The signing secret (whsec_...), shown only in this answer; null in an Idempotency-Key replay.",
    )
    secret_note = serializers.CharField(required=False, help_text="In a replay: why 'secret' is null.")


class SubscriptionIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=1000)
    events = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=50)


class SubscriptionPatchIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    url = serializers.URLField(max_length=1000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=50, required=False
    )
    is_active = serializers.BooleanField(required=False)


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    subscription = serializers.IntegerField(source="subscription_id")
    event_id = serializers.UUIDField(source="event.event_id")
    event_type = serializers.CharField(source="event.type")
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SubscriptionListApi(ListApi):
    required_scopes = {"GET": "webhooks:read", "POST": "webhooks:write"}
    serializer_class = SubscriptionOut

    def get_queryset(self) -> Any:
        return selectors.subscriptions_for(client=self.client)

    @extend_schema(request=SubscriptionIn, responses={201: SubscriptionCreatedOut})
    @idempotent
    def post(self, request: Request) -> Response:
        data = SubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        subscription, secret = services.subscription_create(
            **data.validated_data, actor_type="api_client", actor_id=self.client.client_id, api_client=self.client
        )
        body = SubscriptionOut(subscription).data
        response = Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)
        # The secret is shown once: the stored answer a retry replays holds none (see idempotency.py).
        return replayed_as(response, {**body, "secret": None, "secret_note": SECRET_SHOWN_ONCE})


class SubscriptionDetailApi(DetailApi):
    required_scopes = {"GET": "webhooks:read", "PATCH": "webhooks:write", "DELETE": "webhooks:write"}
    serializer_class = SubscriptionOut
    model = Subscription

    def get_queryset(self) -> Any:
        return selectors.subscriptions_for(client=self.client)

    @extend_schema(request=SubscriptionPatchIn, responses={200: SubscriptionOut})
    @idempotent
    def patch(self, request: Request, pk: int) -> Response:
        subscription = self.get_object()
        data = SubscriptionPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.subscription_update(
            subscription=subscription, actor_type="api_client", actor_id=self.client.client_id, **data.validated_data
        )
        return Response(SubscriptionOut(updated).data)

    @extend_schema(responses={200: SubscriptionOut})
    @idempotent
    def delete(self, request: Request, pk: int) -> Response:
        subscription = self.get_object()
        body = SubscriptionOut(subscription).data
        services.subscription_delete(subscription=subscription, actor_type="api_client", actor_id=self.client.client_id)
        return Response(body)


class DeliveryListApi(ListApi):
    """Deliveries of this client's subscriptions; ``state=dead`` lists its dead letters."""

    required_scopes = {"GET": "webhooks:read"}
    serializer_class = DeliveryOut
    query_filters = {
        "state": ("state", "str", "pending, delivered or dead"),
        "subscription": ("subscription_id", "int", "Only this subscription's deliveries."),
    }

    def get_queryset(self) -> Any:
        return selectors.deliveries_for(client=self.client)


class DeliveryReplayApi(ObjectApi):
    """POST sends a delivery again (dead-lettered or not) with a fresh set of attempts."""

    required_scopes = {"POST": "webhooks:write"}
    serializer_class = DeliveryOut
    model = Delivery

    def get_queryset(self) -> Any:
        return selectors.deliveries_for(client=self.client)

    @extend_schema(request=None, responses={202: DeliveryOut})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        delivery = services.delivery_replay(
            delivery=self.get_object(), actor_type="api_client", actor_id=self.client.client_id
        )
        return Response(DeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)
