"""Registrations, deployments, the tool's keys, and what launches tell us (contexts, users, roles)."""

from __future__ import annotations

from datetime import datetime

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lms_tool.core import crypto
from lms_tool.core.fields import BlindIndexedField, EncryptedTextField, blind_index_expression

from . import registry_memo


class RegistryQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """Writes that bypass ``save()`` (``update``, ``delete``, bulk writes) still tell every process its memo of
    registrations and deployments is stale (``registry_memo``); ``save()`` and deletes send signals
    (``registry_memo_invalidate`` below)."""

    def update(self, **kwargs: object) -> int:
        count = super().update(**kwargs)
        registry_memo.version_bump()
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        registry_memo.version_bump()
        return result

    def bulk_create(self, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg,override]
        created = super().bulk_create(*args, **kwargs)  # type: ignore[arg-type]
        registry_memo.version_bump()
        return created

    def bulk_update(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
        count = super().bulk_update(*args, **kwargs)  # type: ignore[arg-type]
        registry_memo.version_bump()
        return count


class Family(models.TextChoices):
    CANVAS = "canvas", _("Canvas")
    MOODLE = "moodle", _("Moodle")
    OTHER = "other", _("Other")


class DeploymentPolicy(models.TextChoices):
    # Canvas creates a deployment per course or sub-account install, so a known registration
    # usually has to accept deployment ids it has not seen; a stricter school lists them.
    ACCEPT_NEW = "accept", _("Accept new deployments of this registration")
    REFUSE_NEW = "refuse", _("Only accept deployments listed here")


BUDGET_TOO_SMALL = _(
    "A monthly token budget must be at least 1 token. To stop sending anything to the model, turn the AI provider "
    "off instead; leave the budget blank for no limit."
)


class Registration(models.Model):
    """A platform that registered the tool, keyed by (issuer, client_id)."""

    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    issuer = models.CharField(max_length=255, verbose_name=_("issuer"))
    client_id = models.CharField(max_length=255, verbose_name=_("client id"))
    auth_login_url = models.URLField(
        max_length=500, help_text=_("The platform's OIDC authorization endpoint."), verbose_name=_("auth login url")
    )
    auth_token_url = models.URLField(
        max_length=500, help_text=_("The platform's OAuth2 token endpoint."), verbose_name=_("auth token url")
    )
    key_set_url = models.URLField(
        max_length=500, help_text=_("The platform's public JWKS URL."), verbose_name=_("key set url")
    )
    auth_audience = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Token audience, if not the token URL."),
        verbose_name=_("auth audience"),
    )
    family = models.CharField(max_length=16, choices=Family.choices, default=Family.OTHER, verbose_name=_("family"))
    deployment_policy = models.CharField(
        max_length=16,
        choices=DeploymentPolicy.choices,
        default=DeploymentPolicy.ACCEPT_NEW,
        verbose_name=_("deployment policy"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    # An uninvited Dynamic Registration waits, inactive, until a tool admin approves it.
    pending_approval = models.BooleanField(default=False, verbose_name=_("pending approval"))
    scopes = models.JSONField(
        default=list, blank=True, help_text=_("Service scopes the platform granted."), verbose_name=_("scopes")
    )
    # Canvas frames the tool from the school's own domain, not from its issuer: the origins allowed to
    # frame tool pages (CSP frame-ancestors) are kept per registration, set by the admin or learned from launches.
    frame_origins = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Origins (https://school.instructure.com) allowed to frame the tool."),
        verbose_name=_("frame origins"),
    )
    # How long this school keeps attempts' answers, review logs and webhook deliveries (`manage.py retention_purge`,
    # docs/production.md "Retention"); blank: the RETENTION_DAYS setting.
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Days answers, review logs and webhook deliveries are kept (blank: default)."),
        verbose_name=_("retention days"),
    )
    # AI under the institution's control (docs/ai-control.md): off is a data-processing opt-out, only the
    # offline provider runs and nothing leaves the tool; the budget caps the model's tokens per UTC month.
    ai_enabled = models.BooleanField(
        _("AI provider on"),
        default=True,
        help_text=_("Off: only the offline generator and grader run, and no course text or answer leaves the tool."),
    )
    ai_monthly_token_budget = models.PositiveIntegerField(
        _("monthly AI token budget"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1, message=BUDGET_TOO_SMALL)],
        help_text=_(
            "Model tokens per calendar month (UTC); once used up, the offline provider takes over until the "
            "1st. Blank: no limit."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = RegistryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="uniq_registration_iss_client"),
            models.CheckConstraint(
                condition=models.Q(ai_monthly_token_budget__isnull=True) | models.Q(ai_monthly_token_budget__gte=1),
                name="registration_ai_budget_positive",
            ),
        ]
        ordering = ["issuer", "client_id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return self.name or f"{self.issuer} ({self.client_id})"

    @property
    def token_audience(self) -> str:
        return self.auth_audience or self.auth_token_url


class RegistrationInvitation(models.Model):
    """A single-use, expiring invitation a tool admin issues for one Dynamic Registration.

    Only a keyed hash of the token is stored: the token itself is shown once, in the URL to paste."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("token hash"))
    label = models.CharField(
        max_length=200, blank=True, help_text=_("Who it is for (the school or platform)."), verbose_name=_("label")
    )
    created_by = models.CharField(max_length=255, blank=True, verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    registration = models.ForeignKey(
        Registration,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
        verbose_name=_("registration"),
    )

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        USED = "used", _("Used")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("registration invitation")
        verbose_name_plural = _("registration invitations")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return self.label or gettext("invitation %(number)s") % {"number": self.pk}

    def status(self, now: datetime | None = None) -> str:
        """Used and revoked win over expired: the page then says what really happened to the link."""
        if self.used_at is not None:
            return self.Status.USED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return self.Status.EXPIRED
        return self.Status.OPEN


class Deployment(models.Model):
    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="deployments", verbose_name=_("registration")
    )
    deployment_id = models.CharField(max_length=255, verbose_name=_("deployment id"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = RegistryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "deployment_id"], name="uniq_deployment_per_registration")
        ]
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")

    def __str__(self) -> str:
        return f"{self.deployment_id} @ {self.registration}"


class ToolKeyQuerySet(models.QuerySet["ToolKey"]):
    def published(self, now: datetime | None = None) -> ToolKeyQuerySet:
        """Keys in the JWKS: the active one and retiring ones still inside their overlap window."""
        now = now or timezone.now()
        return self.filter(models.Q(retired_at__isnull=True) | models.Q(retired_at__gt=now))


class ToolKey(models.Model):
    """One of the tool's RSA key pairs; the private part is encrypted at rest."""

    kid = models.CharField(
        max_length=64, unique=True, help_text=_("RFC 7638 thumbprint of the public key."), verbose_name=_("kid")
    )
    private_key_encrypted = models.TextField(verbose_name=_("private key encrypted"))
    public_jwk = models.JSONField(verbose_name=_("public jwk"))
    is_active = models.BooleanField(
        default=False, help_text=_("The key that signs; exactly one at a time."), verbose_name=_("is active")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Leaves the JWKS at this time."), verbose_name=_("retired at")
    )

    objects = ToolKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_key")
        ]
        verbose_name = _("tool key")
        verbose_name_plural = _("tool keys")

    def __str__(self) -> str:
        return self.kid

    def private_pem(self) -> bytes:
        return crypto.decrypt(self.private_key_encrypted).encode()


class Context(models.Model):
    """A course (or group) in a platform."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="contexts", verbose_name=_("registration")
    )
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="contexts", verbose_name=_("deployment")
    )
    context_id = models.CharField(max_length=255, verbose_name=_("context id"))
    title = models.CharField(max_length=500, blank=True, verbose_name=_("title"))
    label = models.CharField(max_length=255, blank=True, verbose_name=_("label"))
    types = models.JSONField(default=list, blank=True, verbose_name=_("types"))
    nrps_url = models.URLField(max_length=1000, blank=True, verbose_name=_("nrps url"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "context_id"], name="uniq_context")]
        verbose_name = _("context")
        verbose_name_plural = _("contexts")

    def __str__(self) -> str:
        return self.title or self.context_id


class ResourceLink(models.Model):
    """A placement of the tool in a context (an activity)."""

    context = models.ForeignKey(
        Context, on_delete=models.CASCADE, related_name="resource_links", verbose_name=_("context")
    )
    resource_link_id = models.CharField(max_length=255, verbose_name=_("resource link id"))
    title = models.CharField(max_length=500, blank=True, verbose_name=_("title"))
    custom = models.JSONField(default=dict, blank=True, verbose_name=_("custom"))
    lineitem_url = models.URLField(max_length=1000, blank=True, verbose_name=_("lineitem url"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "resource_link_id"], name="uniq_resource_link")]
        verbose_name = _("resource link")
        verbose_name_plural = _("resource links")

    def __str__(self) -> str:
        return self.title or self.resource_link_id


class LtiUser(models.Model):
    """A person as one registration knows them: ``sub`` is only unique within it."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="users", verbose_name=_("registration")
    )
    sub = models.CharField(max_length=255, verbose_name=_("sub"))
    # PII is encrypted at rest (lms_tool.core.fields); email and SIS id carry a keyed hash so they can be
    # looked up (``filter(email__blind="a@b.edu")``) without decrypting every row.
    name = EncryptedTextField(blank=True, verbose_name=_("name"))
    email = BlindIndexedField(blank=True, verbose_name=_("email"))
    sis_id = BlindIndexedField(
        blank=True, help_text=_("The person's id in the SIS (LIS person_sourcedid)."), verbose_name=_("sis id")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "sub"], name="uniq_user_sub")]
        indexes = [
            models.Index(blind_index_expression("email"), name="lti_user_email_bidx"),
            models.Index(blind_index_expression("sis_id"), name="lti_user_sis_id_bidx"),
        ]
        verbose_name = _("LTI user")
        verbose_name_plural = _("LTI users")

    def __str__(self) -> str:
        return self.name or self.sub


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True)


class Membership(models.Model):
    context = models.ForeignKey(
        Context, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("context")
    )
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    roles = models.JSONField(default=list, blank=True, verbose_name=_("roles"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    last_launch_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last launch at"))
    # When a roster read (NRPS) last listed this person: a sync only revokes people it has listed, so
    # administrators the roster never lists keep access (Moodle site admins launch unenrolled).
    roster_listed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("roster listed at"))
    # When a roster read dropped them; a signed launch newer than this, as an active member, restores access.
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "user"], name="uniq_membership")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return gettext("%(person)s in %(course)s") % {"person": self.user, "course": self.context}


class RegistrationAiUsage(models.Model):
    """Model tokens one registration used in one calendar month (UTC), as the provider's ``usage`` reported them."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="ai_usage", verbose_name=_("registration")
    )
    month = models.DateField(help_text=_("The first day of the month (UTC)."), verbose_name=_("month"))
    tokens = models.BigIntegerField(default=0, verbose_name=_("tokens"))
    requests = models.PositiveIntegerField(default=0, verbose_name=_("requests"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "month"], name="uniq_ai_usage_month")]
        ordering = ["-month"]
        verbose_name = _("registration ai usage")
        verbose_name_plural = _("registration ai usages")

    def __str__(self) -> str:
        return f"{self.registration_id} {self.month:%Y-%m}: {self.tokens} tokens"
