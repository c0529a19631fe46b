"""Webhook subscriptions and their deliveries (one per subscription and domain event)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lms_tool.core import crypto
from lms_tool.core.models import DomainEvent


class Subscription(models.Model):
    """Where to send which domain events; the signing secret is encrypted at rest."""

    name = models.CharField(max_length=200, verbose_name=_("name"))
    url = models.URLField(
        max_length=1000, help_text=_("Must resolve to a public address (SSRF protection)."), verbose_name=_("url")
    )
    events = models.JSONField(
        default=list,
        help_text=_("Event types such as 'enrollment.removed', a family such as 'enrollment.*', or '*'."),
        verbose_name=_("events"),
    )
    secret_encrypted = models.TextField(editable=False, verbose_name=_("secret encrypted"))
    # By name: api sits above webhooks and imports it, so webhooks never imports api (docs/architecture.md, "Layers").
    api_client = models.ForeignKey(
        "api.ApiClient",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Set when an API client owns it: only events inside that client's reach are sent."),
        verbose_name=_("api client"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def wants(self, event_type: str) -> bool:
        family = event_type.split(".", 1)[0] + ".*"
        return any(pattern in ("*", event_type, family) for pattern in self.events)


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead-lettered")


class Delivery(models.Model):
    """One event for one subscription: retried with backoff, dead-lettered after the last try."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"))
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING, verbose_name=_("state")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A worker is sending it until then."), verbose_name=_("lease until")
    )
    last_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("The receiver's HTTP status."), verbose_name=_("last status")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="uniq_delivery")]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name = _("delivery")

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription.name}: {self.state}"


class EventFanout(models.Model):
    """Marks a domain event whose deliveries were created, so the sweeper fans out only the rest."""

    event = models.OneToOneField(DomainEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.event_id)
