"""Where each course's roster sync stands, and who can reach a resource link (NRPS ``rlid``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext, gettext_lazy

from lms_tool.lti.models import Context, LtiUser, ResourceLink


class SyncStatus(models.TextChoices):
    NEVER = "never", gettext_lazy("Not synced yet")
    QUEUED = "queued", gettext_lazy("Queued")
    OK = "ok", gettext_lazy("Up to date")
    FAILED = "failed", gettext_lazy("Failed")


class RosterSync(models.Model):
    """The sync state of one course roster (or of one resource link's members, with ``resource_link``)."""

    context = models.ForeignKey(
        Context, on_delete=models.CASCADE, related_name="roster_syncs", verbose_name=gettext_lazy("context")
    )
    resource_link = models.ForeignKey(
        ResourceLink,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="roster_syncs",
        help_text=gettext_lazy("Set for a sync of one resource link's members (NRPS rlid)."),
        verbose_name=gettext_lazy("resource link"),
    )
    status = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.NEVER, verbose_name=gettext_lazy("status")
    )
    differences_url = models.URLField(
        max_length=2000,
        blank=True,
        help_text=gettext_lazy("The platform's rel=differences link, used by the next incremental sync."),
        verbose_name=gettext_lazy("differences url"),
    )
    last_error = models.TextField(
        blank=True,
        help_text=gettext_lazy("Why the last sync failed, for instructors and admins."),
        verbose_name=gettext_lazy("last error"),
    )
    last_error_detail = models.TextField(
        blank=True,
        help_text=gettext_lazy("What the platform answered (for admins)."),
        verbose_name=gettext_lazy("last error detail"),
    )
    consecutive_failures = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("consecutive failures"))
    last_counts = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy("Members read, added, changed, removed."),
        verbose_name=gettext_lazy("last counts"),
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("last attempt at"))
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("last success at"))
    last_full_sync_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("last full sync at"))
    last_failure_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("last failure at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        constraints = [
            # NULLs are distinct in a unique index, so the course-wide row needs its own constraint.
            models.UniqueConstraint(
                fields=["context"], condition=models.Q(resource_link__isnull=True), name="uniq_roster_sync_context"
            ),
            models.UniqueConstraint(
                fields=["context", "resource_link"],
                condition=models.Q(resource_link__isnull=False),
                name="uniq_roster_sync_link",
            ),
        ]
        verbose_name = gettext_lazy("roster sync")
        verbose_name_plural = gettext_lazy("roster syncs")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        values = {"course": self.context, "link": self.resource_link, "status": self.get_status_display()}
        if self.resource_link_id:
            return gettext("roster of %(course)s / %(link)s: %(status)s") % values
        return gettext("roster of %(course)s: %(status)s") % values

    @property
    def is_failing(self) -> bool:
        return self.status == SyncStatus.FAILED


class ResourceLinkMember(models.Model):
    """A person the platform lists for one resource link (NRPS membership with ``rlid``)."""

    resource_link = models.ForeignKey(
        ResourceLink, on_delete=models.CASCADE, related_name="link_members", verbose_name=gettext_lazy("resource link")
    )
    user = models.ForeignKey(
        LtiUser, on_delete=models.CASCADE, related_name="link_memberships", verbose_name=gettext_lazy("user")
    )
    is_active = models.BooleanField(default=True, verbose_name=gettext_lazy("is active"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource_link", "user"], name="uniq_link_member")]
        verbose_name = gettext_lazy("resource link member")
        verbose_name_plural = gettext_lazy("resource link members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.resource_link}"
