"""API clients (an SIS, an HR system) and the stored answers that make writes idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lms_tool.lti.models import Context, Registration


class ApiClient(models.Model):
    """A system allowed to call /api/: a client id, a hashed secret, scopes and a reach."""

    name = models.CharField(
        max_length=200, help_text=_("Who this is, e.g. 'Banner SIS (production)'."), verbose_name=_("name")
    )
    client_id = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("client id"))
    secret_hash = models.CharField(max_length=128, editable=False, verbose_name=_("secret hash"))
    scopes = models.JSONField(
        default=list, blank=True, help_text=_("e.g. ['roster:read', 'enrollments:write']."), verbose_name=_("scopes")
    )
    all_contexts = models.BooleanField(
        default=False,
        help_text=_("Reach every registration and course. Otherwise only those chosen below."),
        verbose_name=_("all contexts"),
    )
    registrations = models.ManyToManyField(Registration, blank=True, related_name="+", verbose_name=_("registrations"))
    contexts = models.ManyToManyField(Context, blank=True, related_name="+", verbose_name=_("contexts"))
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Requests per minute; empty for the default (settings.API)."),
        verbose_name=_("rate limit per minute"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    created_by = models.CharField(max_length=150, blank=True, verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    # DRF treats the authenticated principal as ``request.user``.
    is_authenticated = True
    is_anonymous = False

    @property
    def usable(self) -> bool:
        return self.is_active and self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def context_q(self, prefix: str = "") -> Q:
        """A filter for rows whose course (reached through ``prefix``) this client may see."""
        if self.all_contexts:
            return Q()
        field = f"{prefix}__" if prefix else ""
        return Q(**{f"{field}registration__in": self.registrations.all()}) | Q(
            **{f"{field}pk__in": self.contexts.all()}
        )

    def reaches_context(self, context: Context) -> bool:
        return self.all_contexts or Context.objects.filter(self.context_q(), pk=context.pk).exists()

    def touch(self, now: datetime | None = None) -> None:
        """Record use, at most once a minute so busy clients don't write on every request."""
        now = now or timezone.now()
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(minutes=1))
        ApiClient.objects.filter(stale, pk=self.pk).update(last_used_at=now)


class IdempotencyRecord(models.Model):
    """The answer to a write sent with an ``Idempotency-Key``: replayed when the same key comes back."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="uniq_idempotency_key_per_client")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"
