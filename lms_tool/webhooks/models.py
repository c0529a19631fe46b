"""Webhook subscriptions and their deliveries (one per subscription and domain event)."""

from __future__ import annotations

from django.db import models

from lms_tool.core import crypto
from lms_tool.core.models import DomainEvent


class Subscription(models.Model):
    """Where to send which domain events; the signing secret is encrypted at rest."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=1000, help_text="Must resolve to a public address (SSRF protection).")
    events = models.JSONField(
        default=list, help_text="Event types such as 'enrollment.removed', a family such as 'enrollment.*', or '*'."
    )
    secret_encrypted = models.TextField(editable=False)
    # By name: api sits above webhooks and imports it, so webhooks never imports api (docs/architecture.md, "Layers").
    api_client = models.ForeignKey(
        "api.ApiClient",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set when an API client owns it: only events inside that client's reach are sent.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def wants(self, event_type: str) -> bool:
        family = event_type.split(".", 1)[0] + ".*"
        return any(pattern in ("*", event_type, family) for pattern in self.events)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead-lettered"


class Delivery(models.Model):
    """One event for one subscription: retried with backoff, dead-lettered after the last try."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A worker is sending it until then.")
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The receiver's HTTP status.")
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="uniq_delivery")]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription.name}: {self.state}"


class EventFanout(models.Model):
    """Marks a domain event whose deliveries were created, so the sweeper fans out only the rest."""

    event = models.OneToOneField(DomainEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.event_id)
