"""Registrations, deployments, the tool's keys, and what launches tell us (contexts, users, roles)."""

from __future__ import annotations

from datetime import datetime

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

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
    CANVAS = "canvas", "Canvas"
    MOODLE = "moodle", "Moodle"
    OTHER = "other", "Other"


class DeploymentPolicy(models.TextChoices):
    # Canvas creates a deployment per course or sub-account install, so a known registration
    # usually has to accept deployment ids it has not seen; a stricter school lists them.
    ACCEPT_NEW = "accept", "Accept new deployments of this registration"
    REFUSE_NEW = "refuse", "Only accept deployments listed here"


BUDGET_TOO_SMALL = (
    "A monthly token budget must be at least 1 token. To stop sending anything to the model, turn the AI provider "
    "off instead; leave the budget blank for no limit."
)


class Registration(models.Model):
    """A platform that registered the tool, keyed by (issuer, client_id)."""

    name = models.CharField(max_length=200, blank=True)
    issuer = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    auth_login_url = models.URLField(max_length=500, help_text="The platform's OIDC authorization endpoint.")
    auth_token_url = models.URLField(max_length=500, help_text="The platform's OAuth2 token endpoint.")
    key_set_url = models.URLField(max_length=500, help_text="The platform's public JWKS URL.")
    auth_audience = models.CharField(max_length=500, blank=True, help_text="Token audience, if not the token URL.")
    family = models.CharField(max_length=16, choices=Family.choices, default=Family.OTHER)
    deployment_policy = models.CharField(
        max_length=16, choices=DeploymentPolicy.choices, default=DeploymentPolicy.ACCEPT_NEW
    )
    is_active = models.BooleanField(default=True)
    # An uninvited Dynamic Registration waits, inactive, until a tool admin approves it.
    pending_approval = models.BooleanField(default=False)
    scopes = models.JSONField(default=list, blank=True, help_text="Service scopes the platform granted.")
    # Canvas frames the tool from the school's own domain, not from its issuer: the origins allowed to
    # frame tool pages (CSP frame-ancestors) are kept per registration, set by the admin or learned from launches.
    frame_origins = models.JSONField(
        default=list, blank=True, help_text="Origins (https://school.instructure.com) allowed to frame the tool."
    )
    # How long this school keeps attempts' answers, review logs and webhook deliveries (`manage.py retention_purge`,
    # docs/production.md "Retention"); blank: the RETENTION_DAYS setting.
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days answers, review logs and webhook deliveries are kept (blank: default)."
    )
    # AI under the institution's control (docs/ai-control.md): off is a data-processing opt-out, only the
    # offline provider runs and nothing leaves the tool; the budget caps the model's tokens per UTC month.
    ai_enabled = models.BooleanField(
        "AI provider on",
        default=True,
        help_text="Off: only the offline generator and grader run, and no course text or answer leaves the tool.",
    )
    ai_monthly_token_budget = models.PositiveIntegerField(
        "monthly AI token budget",
        null=True,
        blank=True,
        validators=[MinValueValidator(1, message=BUDGET_TOO_SMALL)],
        help_text="Model tokens per calendar month (UTC); once used up, the offline provider takes over until the "
        "1st. Blank: no limit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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

    def __str__(self) -> str:
        return self.name or f"{self.issuer} ({self.client_id})"

    @property
    def token_audience(self) -> str:
        return self.auth_audience or self.auth_token_url


class RegistrationInvitation(models.Model):
    """A single-use, expiring invitation a tool admin issues for one Dynamic Registration.

    Only a keyed hash of the token is stored: the token itself is shown once, in the URL to paste."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(max_length=200, blank=True, help_text="Who it is for (the school or platform).")
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        USED = "used", "Used"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"invitation {self.pk}"

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
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "deployment_id"], name="uniq_deployment_per_registration")
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} @ {self.registration}"


class ToolKeyQuerySet(models.QuerySet["ToolKey"]):
    def published(self, now: datetime | None = None) -> ToolKeyQuerySet:
        """Keys in the JWKS: the active one and retiring ones still inside their overlap window."""
        now = now or timezone.now()
        return self.filter(models.Q(retired_at__isnull=True) | models.Q(retired_at__gt=now))


class ToolKey(models.Model):
    """One of the tool's RSA key pairs; the private part is encrypted at rest."""

    kid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 thumbprint of the public key.")
    private_key_encrypted = models.TextField()
    public_jwk = models.JSONField()
    is_active = models.BooleanField(default=False, help_text="The key that signs; exactly one at a time.")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="Leaves the JWKS at this time.")

    objects = ToolKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_key")
        ]

    def __str__(self) -> str:
        return self.kid

    def private_pem(self) -> bytes:
        return crypto.decrypt(self.private_key_encrypted).encode()


class Context(models.Model):
    """A course (or group) in a platform."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="contexts")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=500, blank=True)
    label = models.CharField(max_length=255, blank=True)
    types = models.JSONField(default=list, blank=True)
    nrps_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "context_id"], name="uniq_context")]

    def __str__(self) -> str:
        return self.title or self.context_id


class ResourceLink(models.Model):
    """A placement of the tool in a context (an activity)."""

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="resource_links")
    resource_link_id = models.CharField(max_length=255)
    title = models.CharField(max_length=500, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    lineitem_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "resource_link_id"], name="uniq_resource_link")]

    def __str__(self) -> str:
        return self.title or self.resource_link_id


class LtiUser(models.Model):
    """A person as one registration knows them: ``sub`` is only unique within it."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="users")
    sub = models.CharField(max_length=255)
    # PII is encrypted at rest (lms_tool.core.fields); email and SIS id carry a keyed hash so they can be
    # looked up (``filter(email__blind="a@b.edu")``) without decrypting every row.
    name = EncryptedTextField(blank=True)
    email = BlindIndexedField(blank=True)
    sis_id = BlindIndexedField(blank=True, help_text="The person's id in the SIS (LIS person_sourcedid).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "sub"], name="uniq_user_sub")]
        indexes = [
            models.Index(blind_index_expression("email"), name="lti_user_email_bidx"),
            models.Index(blind_index_expression("sis_id"), name="lti_user_sis_id_bidx"),
        ]
        verbose_name = "LTI user"
        verbose_name_plural = "LTI users"

    def __str__(self) -> str:
        return self.name or self.sub


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True)


class Membership(models.Model):
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="memberships")
    roles = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    last_launch_at = models.DateTimeField(null=True, blank=True)
    # When a roster read (NRPS) last listed this person: a sync only revokes people it has listed, so
    # administrators the roster never lists keep access (Moodle site admins launch unenrolled).
    roster_listed_at = models.DateTimeField(null=True, blank=True)
    # When a roster read dropped them; a signed launch newer than this, as an active member, restores access.
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "user"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.context}"


class RegistrationAiUsage(models.Model):
    """Model tokens one registration used in one calendar month (UTC), as the provider's ``usage`` reported them."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="ai_usage")
    month = models.DateField(help_text="The first day of the month (UTC).")
    tokens = models.BigIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "month"], name="uniq_ai_usage_month")]
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.registration_id} {self.month:%Y-%m}: {self.tokens} tokens"
