from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Refuses bulk rewrites here too, with a clear message; the database refuses them anyway (core migration
    0004). Expired lines go only through ``manage.py audit_purge`` (``core.services.audit_purge``)."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are append-only: manage.py audit_purge deletes expired lines")


class AuditEvent(models.Model):
    """One append-only line of the audit log: who did what to which object, from where."""

    class Actor(models.TextChoices):
        USER = "user"
        API_CLIENT = "api_client"
        PLATFORM = "platform"
        SYSTEM = "system"
        ADMIN = "admin"
        # Nobody the tool knows: an uninvited Dynamic Registration, say.
        UNAUTHENTICATED = "unauthenticated"
        # A Dynamic Registration made with a tool admin's invitation (actor_id is the invitation's id).
        INVITATION = "invitation"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    actor_type = models.CharField(max_length=16, choices=Actor.choices, verbose_name=_("actor type"))
    actor_id = models.CharField(max_length=255, blank=True, verbose_name=_("actor id"))
    action = models.CharField(max_length=64, db_index=True, verbose_name=_("action"))
    object_type = models.CharField(max_length=64, verbose_name=_("object type"))
    object_id = models.CharField(max_length=1024, verbose_name=_("object id"))
    # Platforms send long URLs (Canvas's configuration URL alone is 67 characters): room for any of them.
    source = models.CharField(
        max_length=2048, blank=True, help_text=_("The system the change came from."), verbose_name=_("source")
    )
    address = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Where a page or admin action came from: a truncated or keyed-hashed address."),
        verbose_name=_("address"),
    )
    user_agent = models.CharField(max_length=255, blank=True, verbose_name=_("user agent"))
    before = models.JSONField(null=True, blank=True, verbose_name=_("before"))
    after = models.JSONField(null=True, blank=True, verbose_name=_("after"))

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_type}:{self.actor_id} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: an audit line is written once and never changed.
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are append-only: manage.py audit_purge deletes expired lines")


class DomainEvent(models.Model):
    """Something that happened in the domain (enrollment added, score posted...), with a stable id.

    Receivers de-duplicate on ``event_id``; the integration API lists these with ``updated_since``.
    """

    event_id = models.UUIDField(unique=True, editable=False, default=uuid.uuid4)
    type = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=255)
    context_pk = models.BigIntegerField(null=True, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_type}:{self.subject_id}"
