"""Line items, the score outbox, and the review state of AI grades (LTI AGS 2.0)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from lms_tool.lti.models import Context, Family, LtiUser, ResourceLink


class AgsEndpoint(models.Model):
    """The AGS endpoint claim as the last launch in a course gave it (AGS §3.1)."""

    context = models.OneToOneField(Context, on_delete=models.CASCADE, related_name="ags_endpoint")
    lineitems_url = models.URLField(max_length=1000, blank=True, help_text="The course's line items container.")
    scopes = models.JSONField(default=list, blank=True, help_text="AGS scopes the platform offered in the launch.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AGS endpoint"
        verbose_name_plural = "AGS endpoints"

    def __str__(self) -> str:
        return self.lineitems_url or f"AGS of {self.context}"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class LineItem(models.Model):
    """The gradebook column of a resource link: from the launch's ``lineitem`` claim, or created once."""

    resource_link = models.OneToOneField(ResourceLink, on_delete=models.CASCADE, related_name="line_item")
    url = models.URLField(max_length=1000, blank=True, help_text="The line item's id (URL); blank until known.")
    label = models.CharField(max_length=500, blank=True)
    resource_id = models.CharField(max_length=255, blank=True)
    tag = models.CharField(max_length=255, blank=True)
    score_maximum = models.FloatField(default=1)
    # The activity's due date, sent as the column's endDateTime when the tool creates it (AGS §3.2.5).
    end_date_time = models.DateTimeField(null=True, blank=True)
    # Set before a creation request: if its answer is lost, the next attempt looks the item up
    # (filtered by resource link) instead of creating a second column.
    create_attempted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.label or self.url or f"line item of {self.resource_link}"


class ScoreSlot(models.Model):
    """One learner in one line item: the row that orders their scores' timestamps (AGS §3.4.1)."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="slots")
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="+")
    last_timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line_item", "user"], name="uniq_score_slot")]

    def __str__(self) -> str:
        return f"{self.user} in {self.line_item}"


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
    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"
    HELD = "held", "Held for review"
    FAILED = "failed", "Refused by the platform"
    DEAD = "dead", "Dead letter"
    SUPERSEDED = "superseded", "Superseded by a newer score"


class ScoreQuerySet(models.QuerySet["Score"]):
    def dead_letters(self) -> ScoreQuerySet:
        return self.filter(passback_state__in=[PassbackState.DEAD, PassbackState.FAILED])

    def due(self, now: datetime) -> ScoreQuerySet:
        return self.filter(passback_state=PassbackState.PENDING, next_attempt_at__lte=now)


class Score(models.Model):
    """One score for one learner, kept until the platform has it (the outbox of AGS §3.4 posts)."""

    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="scores")
    resource_link = models.ForeignKey(ResourceLink, on_delete=models.CASCADE, related_name="scores")
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="scores")
    score_given = models.FloatField(null=True, blank=True)
    score_maximum = models.FloatField()
    activity_progress = models.CharField(max_length=16)
    grading_progress = models.CharField(max_length=16)
    comment = models.TextField(blank=True)
    timestamp = models.DateTimeField(help_text="AGS timestamp: only moves forward per learner and line item.")
    source = models.CharField(max_length=16, choices=Source.choices)
    confidence = models.FloatField(null=True, blank=True)
    review_threshold = models.FloatField(null=True, blank=True)
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.NOT_NEEDED)
    reviewed_by = models.ForeignKey(LtiUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    passback_state = models.CharField(max_length=16, choices=PassbackState.choices, default=PassbackState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a pending score may be posted.")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="Set while a worker is posting it.")
    claim = models.UUIDField(null=True, blank=True, editable=False, help_text="The batch that holds it.")
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The platform's last HTTP status.")
    last_response = models.TextField(blank=True, help_text="The platform's last answer (body).")
    last_error = models.TextField(blank=True, help_text="Why the last attempt did not post it.")
    posted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScoreQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["passback_state", "next_attempt_at"]),
            models.Index(fields=["line_item", "user"]),
            models.Index(fields=["review_state"]),
        ]

    def __str__(self) -> str:
        return f"score #{self.pk} of {self.user} ({self.passback_state})"

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
        verbose_name = "dead-lettered score"
