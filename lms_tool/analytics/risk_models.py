"""Per course: the instructor's thresholds for "needs help", and each learner's last recorded risk state."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from lms_tool.lti.models import Context, LtiUser

from .risk_score import Thresholds

_DEFAULTS = Thresholds()


class RiskSettings(models.Model):
    """The thresholds of one course (``risk_score.Thresholds``); a course without a row uses the defaults."""

    context = models.OneToOneField(Context, on_delete=models.CASCADE, related_name="risk_settings")
    window_days = models.PositiveIntegerField(
        default=_DEFAULTS.window_days,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="An activity not started this many days after it opened counts as missed (1-90).",
    )
    inactive_days = models.PositiveIntegerField(
        default=_DEFAULTS.inactive_days,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="No activity for this many days is a concern (1-90).",
    )
    score_drop = models.FloatField(
        default=_DEFAULTS.score_drop,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="Quiz scores falling by this share of the maximum, earlier attempts to recent ones.",
    )
    pass_mark = models.FloatField(
        default=_DEFAULTS.pass_mark,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.95)],
        help_text="An average quiz score below this is a concern.",
    )
    recall_floor = models.FloatField(
        default=_DEFAULTS.recall_floor,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.95)],
        help_text="Predicted recall of the course's concepts below this is a concern.",
    )
    risk_threshold = models.FloatField(
        default=_DEFAULTS.risk_threshold,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.95)],
        help_text="A learner whose risk score reaches this is listed (lower lists more learners).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "at-risk settings"
        verbose_name_plural = "at-risk settings"

    def __str__(self) -> str:
        return f"at-risk settings of {self.context_id}"

    def thresholds(self) -> Thresholds:
        return Thresholds(
            window_days=self.window_days,
            inactive_days=self.inactive_days,
            score_drop=self.score_drop,
            pass_mark=self.pass_mark,
            recall_floor=self.recall_floor,
            risk_threshold=self.risk_threshold,
        )


class LearnerRisk(models.Model):
    """A learner's risk as last recorded by the refresh (beat or "Check now"): a change publishes an event."""

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="+")
    at_risk = models.BooleanField(default=False)
    score = models.FloatField(default=0.0)
    reasons = models.JSONField(default=list, blank=True, help_text="Reason codes at the last change.")
    changed_at = models.DateTimeField(help_text="When the state last changed.")
    checked_at = models.DateTimeField(help_text="When the state was last computed.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "user"], name="uniq_learner_risk")]
        indexes = [models.Index(fields=["context", "at_risk"], name="learner_risk_course")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.context_id}: {'at risk' if self.at_risk else 'fine'}"
