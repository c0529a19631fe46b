"""Line items, the score outbox, and the review state of AI grades (LTI AGS 2.0)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lms_tool.lti.models import Context, Family, LtiUser, ResourceLink


class AgsEndpoint(models.Model):
    """The AGS endpoint claim as the last launch in a course gave it (AGS §3.1)."""

    context = models.OneToOneField(
        Context, on_delete=models.CASCADE, related_name="ags_endpoint", verbose_name=_("context")
    )
    lineitems_url = models.URLField(
        max_length=1000, blank=True, help_text=_("The course's line items container."), verbose_name=_("lineitems url")
    )
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text=_("AGS scopes the platform offered in the launch."),
        verbose_name=_("scopes"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("AGS endpoint")
        verbose_name_plural = _("AGS endpoints")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return self.lineitems_url or gettext("AGS of %(course)s") % {"course": self.context}

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class LineItem(models.Model):
    """The gradebook column of a resource link: from the launch's ``lineitem`` claim, or created once."""

    resource_link = models.OneToOneField(
        ResourceLink, on_delete=models.CASCADE, related_name="line_item", verbose_name=_("resource link")
    )
    url = models.URLField(
        max_length=1000, blank=True, help_text=_("The line item's id (URL); blank until known."), verbose_name=_("url")
    )
    label = models.CharField(max_length=500, blank=True, verbose_name=_("label"))
    resource_id = models.CharField(max_length=255, blank=True, verbose_name=_("resource id"))
    tag = models.CharField(max_length=255, blank=True, verbose_name=_("tag"))
    score_maximum = models.FloatField(default=1, verbose_name=_("score maximum"))
    # The activity's due date, sent as the column's endDateTime when the tool creates it (AGS §3.2.5).
    end_date_time = models.DateTimeField(null=True, blank=True, verbose_name=_("end date time"))
    # Set before a creation request: if its answer is lost, the next attempt looks the item up
    # (filtered by resource link) instead of creating a second column.
    create_attempted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("create attempted at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("line item")
        verbose_name_plural = _("line items")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return self.label or self.url or gettext("line item of %(link)s") % {"link": self.resource_link}


class ScoreSlot(models.Model):
    """One learner in one line item: the row that orders their scores' timestamps (AGS §3.4.1)."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="slots")
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="+")
    last_timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line_item", "user"], name="uniq_score_slot")]

    def __str__(self) -> str:
        return gettext("%(person)s in %(line_item)s") % {"person": self.user, "line_item": self.line_item}


class Source(models.TextChoices):
    AUTOMATIC = "automatic"
    AI = "ai"
    INSTRUCTOR = "instructor"


class ReviewState(models.TextChoices):
    NOT_NEEDED = "not_needed"
    NEEDS_REVIEW = "needs_review"
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"


class PassbackState(models.TextChoices):
    PENDING = "pending", _("Pending")
    POSTED = "posted", _("Posted")
    HELD = "held", _("Held for review")
    FAILED = "failed", _("Refused by the platform")
    DEAD = "dead", _("Dead letter")
    SUPERSEDED = "superseded", _("Superseded by a newer score")


class ScoreQuerySet(models.QuerySet["Score"]):
    def dead_letters(self) -> ScoreQuerySet:
        return self.filter(passback_state__in=[PassbackState.DEAD, PassbackState.FAILED])

    def due(self, now: datetime) -> ScoreQuerySet:
        return self.filter(passback_state=PassbackState.PENDING, next_attempt_at__lte=now)


class Score(models.Model):
    """One score for one learner, kept until the platform has it (the outbox of AGS §3.4 posts)."""

    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="scores", verbose_name=_("user"))
    resource_link = models.ForeignKey(
        ResourceLink, on_delete=models.CASCADE, related_name="scores", verbose_name=_("resource link")
    )
    line_item = models.ForeignKey(
        LineItem, on_delete=models.CASCADE, related_name="scores", verbose_name=_("line item")
    )
    score_given = models.FloatField(null=True, blank=True, verbose_name=_("score given"))
    score_maximum = models.FloatField(verbose_name=_("score maximum"))
    activity_progress = models.CharField(max_length=16, verbose_name=_("activity progress"))
    grading_progress = models.CharField(max_length=16, verbose_name=_("grading progress"))
    comment = models.TextField(blank=True, verbose_name=_("comment"))
    timestamp = models.DateTimeField(
        help_text=_("AGS timestamp: only moves forward per learner and line item."), verbose_name=_("timestamp")
    )
    source = models.CharField(max_length=16, choices=Source.choices, verbose_name=_("source"))
    confidence = models.FloatField(null=True, blank=True, verbose_name=_("confidence"))
    review_threshold = models.FloatField(null=True, blank=True, verbose_name=_("review threshold"))
    review_state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.NOT_NEEDED, verbose_name=_("review state")
    )
    reviewed_by = models.ForeignKey(
        LtiUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))
    passback_state = models.CharField(
        max_length=16, choices=PassbackState.choices, default=PassbackState.PENDING, verbose_name=_("passback state")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a pending score may be posted."), verbose_name=_("next attempt at")
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set while a worker is posting it."), verbose_name=_("claimed at")
    )
    claim = models.UUIDField(
        null=True, blank=True, editable=False, help_text=_("The batch that holds it."), verbose_name=_("claim")
    )
    last_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("The platform's last HTTP status."), verbose_name=_("last status")
    )
    last_response = models.TextField(
        blank=True, help_text=_("The platform's last answer (body)."), verbose_name=_("last response")
    )
    last_error = models.TextField(
        blank=True, help_text=_("Why the last attempt did not post it."), verbose_name=_("last error")
    )
    posted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("posted at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = ScoreQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["passback_state", "next_attempt_at"]),
            models.Index(fields=["line_item", "user"]),
            models.Index(fields=["review_state"]),
        ]
        verbose_name = _("score")
        verbose_name_plural = _("scores")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return gettext("score #%(number)s of %(person)s (%(state)s)") % {
            "number": self.pk,
            "person": self.user,
            "state": self.passback_state,
        }

    def as_ags_score(self, *, family: str) -> dict[str, Any]:
        """The AGS score JSON (§3.4.6); ``scoreGiven`` is left out when there is none."""
        data: dict[str, Any] = {
            "userId": self.user.sub,
            "scoreMaximum": self.score_maximum,
            "activityProgress": self.activity_progress,
            "gradingProgress": self.grading_progress,
            "timestamp": self.timestamp.isoformat(timespec="milliseconds"),
        }
        if self.score_given is not None:
            data["scoreGiven"] = self.score_given
        if self.comment:
            data["comment"] = self.comment
        if family == Family.CANVAS:
            # A confirmed grade updates the learner's submission instead of adding an attempt.
            data["https://canvas.instructure.com/lti/submission"] = {"new_submission": self.reviewed_at is None}
        return data

    def snapshot(self) -> dict[str, Any]:
        """What the audit log keeps of a score before and after a change."""
        return {
            "score_given": self.score_given,
            "score_maximum": self.score_maximum,
            "grading_progress": self.grading_progress,
            "activity_progress": self.activity_progress,
            "timestamp": self.timestamp.isoformat(),
            "source": self.source,
            "confidence": self.confidence,
            "review_state": self.review_state,
            "passback_state": self.passback_state,
        }

    def event_data(self) -> dict[str, Any]:
        """The payload of this score's domain events (webhooks, API)."""
        return {
            "score_id": self.pk,
            "user_sub": self.user.sub,
            "line_item": self.line_item.url,
            "resource_link_id": self.resource_link.resource_link_id,
            **self.snapshot(),
        }


class DeadLetter(Score):
    """Scores the platform would not take: retries exhausted, or refused for good. Replayable."""

    class Meta:
        proxy = True
        verbose_name = _("dead-lettered score")
        verbose_name_plural = _("dead-lettered scores")
