"""Each registration's Learning Record Store, and the statements waiting for it (the outbox)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lms_tool.core import crypto


class ActorFormat(models.TextChoices):
    # xAPI 1.0.3 §2.4.2.4: an account on a system, identified by homePage and name.
    ACCOUNT = "account", _("Platform account (homePage = platform issuer, name = LTI sub)")
    PSEUDONYM = "pseudonym", _("Pseudonym (homePage = this tool, name = a keyed hash per registration)")


class LrsEndpoint(models.Model):
    """Where a registration's statements go; the credentials (HTTP Basic key and secret) are encrypted at rest."""

    registration = models.OneToOneField(
        "lti.Registration", on_delete=models.CASCADE, related_name="+", verbose_name=_("registration")
    )
    url = models.URLField(
        max_length=1000,
        help_text=_("The LRS's xAPI base URL, e.g. https://lrs.example.edu/xAPI (statements go to <url>/statements)."),
        verbose_name=_("url"),
    )
    key_encrypted = models.TextField(editable=False, verbose_name=_("key encrypted"))
    secret_encrypted = models.TextField(editable=False, verbose_name=_("secret encrypted"))
    actor_format = models.CharField(
        max_length=16, choices=ActorFormat.choices, default=ActorFormat.ACCOUNT, verbose_name=_("actor format")
    )
    mastery_score = models.FloatField(
        default=0.5,
        help_text=_("Scaled score (0 to 1) at or above which a quiz attempt is 'passed', else 'failed'."),
        verbose_name=_("mastery score"),
    )
    batch_size = models.PositiveIntegerField(
        default=50, help_text=_("Statements per POST."), verbose_name=_("batch size")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("LRS endpoint")
        verbose_name_plural = _("LRS endpoints")

    def __str__(self) -> str:
        return f"{self.registration} → {self.url}"

    def statements_url(self) -> str:
        return self.url.rstrip("/") + "/statements"

    def credentials(self) -> tuple[str, str]:
        return crypto.decrypt(self.key_encrypted), crypto.decrypt(self.secret_encrypted)

    def credentials_set(self, key: str, secret: str) -> None:
        self.key_encrypted, self.secret_encrypted = crypto.encrypt(key), crypto.encrypt(secret)


class StatementState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead-lettered")


class Statement(models.Model):
    """One xAPI statement for one LRS, written in the transaction of what it records; sent in batches."""

    endpoint = models.ForeignKey(
        LrsEndpoint, on_delete=models.CASCADE, related_name="statements", verbose_name=_("endpoint")
    )
    # uuid5 of what the row records (docs/xapi.md): the LRS keeps one statement however often it is sent.
    statement_id = models.UUIDField(unique=True, editable=False, verbose_name=_("statement id"))
    verb = models.CharField(
        max_length=32, help_text=_("The ADL verb's short name, for the admin."), verbose_name=_("verb")
    )
    body = models.JSONField(verbose_name=_("body"))
    state = models.CharField(
        max_length=16, choices=StatementState.choices, default=StatementState.PENDING, verbose_name=_("state")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A worker is sending it until then."), verbose_name=_("lease until")
    )
    lease = models.UUIDField(
        null=True, blank=True, editable=False, help_text=_("The batch that holds it."), verbose_name=_("lease")
    )
    alone = models.BooleanField(
        default=False,
        help_text=_("The LRS refused a batch it was in: sent on its own to find the statement at fault."),
        verbose_name=_("alone"),
    )
    last_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("The LRS's HTTP status."), verbose_name=_("last status")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "state", "next_attempt_at"])]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")

    def __str__(self) -> str:
        return f"{self.verb} {self.statement_id}: {self.state}"
