"""Each registration's Learning Record Store, and the statements waiting for it (the outbox)."""

from __future__ import annotations

from django.db import models

from lms_tool.core import crypto


class ActorFormat(models.TextChoices):
    # xAPI 1.0.3 §2.4.2.4: an account on a system, identified by homePage and name.
    ACCOUNT = "account", "Platform account (homePage = platform issuer, name = LTI sub)"
    PSEUDONYM = "pseudonym", "Pseudonym (homePage = this tool, name = a keyed hash per registration)"


class LrsEndpoint(models.Model):
    """Where a registration's statements go; the credentials (HTTP Basic key and secret) are encrypted at rest."""

    registration = models.OneToOneField("lti.Registration", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(
        max_length=1000,
        help_text="The LRS's xAPI base URL, e.g. https://lrs.example.edu/xAPI (statements go to <url>/statements).",
    )
    key_encrypted = models.TextField(editable=False)
    secret_encrypted = models.TextField(editable=False)
    actor_format = models.CharField(max_length=16, choices=ActorFormat.choices, default=ActorFormat.ACCOUNT)
    mastery_score = models.FloatField(
        default=0.5, help_text="Scaled score (0 to 1) at or above which a quiz attempt is 'passed', else 'failed'."
    )
    batch_size = models.PositiveIntegerField(default=50, help_text="Statements per POST.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "LRS endpoint"

    def __str__(self) -> str:
        return f"{self.registration} → {self.url}"

    def statements_url(self) -> str:
        return self.url.rstrip("/") + "/statements"

    def credentials(self) -> tuple[str, str]:
        return crypto.decrypt(self.key_encrypted), crypto.decrypt(self.secret_encrypted)

    def credentials_set(self, key: str, secret: str) -> None:
        self.key_encrypted, self.secret_encrypted = crypto.encrypt(key), crypto.encrypt(secret)


class StatementState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    DEAD = "dead", "Dead-lettered"


class Statement(models.Model):
    """One xAPI statement for one LRS, written in the transaction of what it records; sent in batches."""

    endpoint = models.ForeignKey(LrsEndpoint, on_delete=models.CASCADE, related_name="statements")
    # uuid5 of what the row records (docs/xapi.md): the LRS keeps one statement however often it is sent.
    statement_id = models.UUIDField(unique=True, editable=False)
    verb = models.CharField(max_length=32, help_text="The ADL verb's short name, for the admin.")
    body = models.JSONField()
    state = models.CharField(max_length=16, choices=StatementState.choices, default=StatementState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A worker is sending it until then.")
    lease = models.UUIDField(null=True, blank=True, editable=False, help_text="The batch that holds it.")
    alone = models.BooleanField(
        default=False, help_text="The LRS refused a batch it was in: sent on its own to find the statement at fault."
    )
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The LRS's HTTP status.")
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.verb} {self.statement_id}: {self.state}"
