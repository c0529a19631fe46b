"""Quizzes, their (versioned) questions, generation runs, attempts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from lms_tool.ai import QuestionDraft
from lms_tool.lti.models import Context, LtiUser, ResourceLink


def default_threshold() -> float:
    return float(settings.QUIZZES["REVIEW_THRESHOLD"])


class AnswerRelease(models.TextChoices):
    """When a learner sees the correct answers and explanations of a submitted attempt."""

    NEVER = "never", gettext_lazy("Never")
    AFTER_SUBMIT = "after_submit", gettext_lazy("As soon as the attempt is submitted")
    AFTER_DUE = "after_due", gettext_lazy("After the due date")
    AFTER_CLOSE = "after_close", gettext_lazy("After the quiz closes")


class LatePolicy(models.TextChoices):
    REFUSE = "refuse", gettext_lazy("Refuse late submissions: the attempt ends at the due date")
    FLAG = "flag", gettext_lazy("Accept late submissions and mark them late")
    PENALTY = "penalty", gettext_lazy("Accept late submissions with a penalty")


class Quiz(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Draft")
        PUBLISHED = "published", gettext_lazy("Published")

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="quizzes")
    created_by = models.ForeignKey(LtiUser, on_delete=models.SET_NULL, null=True, related_name="quizzes_created")
    title = models.CharField(max_length=200)
    source_name = models.CharField(max_length=255, blank=True, help_text="The uploaded file, if any.")
    source_text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Bumped when a published quiz that has attempts changes; each attempt keeps the version it started.
    version = models.PositiveIntegerField(default=1)
    time_limit_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_attempts = models.PositiveIntegerField(default=1, help_text="0 means unlimited.")
    review_threshold = models.FloatField(default=default_threshold)
    published_at = models.DateTimeField(null=True, blank=True)
    # Dates (UTC; a platform's dates sent with the launch win, services/windows.py, docs/assessment.md).
    opens_at = models.DateTimeField(null=True, blank=True, help_text="Learners may start from then.")
    due_at = models.DateTimeField(null=True, blank=True, help_text="Submissions after it are late.")
    closes_at = models.DateTimeField(null=True, blank=True, help_text="Nothing can be started or submitted after.")
    late_policy = models.CharField(max_length=16, choices=LatePolicy.choices, default=LatePolicy.FLAG)
    late_penalty_percent = models.PositiveSmallIntegerField(default=0, help_text="Taken off a late score (penalty).")
    # WCAG 2.2.1 (Timing Adjustable): minutes a learner may add to their own timer, up to MAX_EXTENSIONS times.
    timer_extension_minutes = models.PositiveSmallIntegerField(default=0, help_text="0: learners cannot extend.")
    # A course's own copy of a quiz of another course of the same registration, made at the first launch of a
    # link the LMS copied along with its course (the link still names the original).
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies", db_index=True
    )
    # Integrity settings (docs/assessment.md); applied when an attempt starts (services/delivery.py).
    shuffle_questions = models.BooleanField(
        default=False, help_text="Each learner gets the questions in their own order."
    )
    shuffle_options = models.BooleanField(default=False, help_text="Each learner gets the options in their own order.")
    draw_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Questions drawn per attempt from the approved ones; blank: all of them."
    )
    show_answers = models.CharField(max_length=16, choices=AnswerRelease.choices, default=AnswerRelease.AFTER_SUBMIT)
    one_per_page = models.BooleanField(default=False, help_text="One question per page instead of all at once.")
    allow_review = models.BooleanField(default=True, help_text="Learners may look at their submitted attempts.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "quizzes"

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class GenerationRun(models.Model):
    """One request to generate questions: its progress, the model and prompt, and what was rejected."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="generation_runs")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    count = models.PositiveIntegerField()
    types = models.JSONField(default=list)
    difficulty = models.CharField(max_length=16, default="medium")
    replaces = models.ForeignKey(
        "Question", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Regeneration of."
    )
    parts_total = models.PositiveIntegerField(default=0)
    parts_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    model = models.CharField(max_length=200, blank=True)
    prompt = models.TextField(blank=True)
    rejected = models.JSONField(default=list, blank=True, help_text="[{reason, raw}] of unusable model output.")
    error = models.TextField(blank=True)
    # Why the institution's model was not used for (part of) this run: AI turned off, or the budget used up.
    ai_notice = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"generation {self.pk} of {self.quiz_id} ({self.state})"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.parts_done / self.parts_total) if self.parts_total else 0

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class QuestionQuerySet(models.QuerySet["Question"]):
    def current(self) -> QuestionQuerySet:
        """Questions of the quiz as it is now (older revisions stay for the attempts that used them)."""
        return self.filter(is_current=True)

    def approved(self) -> QuestionQuerySet:
        return self.current().filter(status=Question.Status.APPROVED)


class Question(models.Model):
    class Type(models.TextChoices):
        SINGLE = "single", gettext_lazy("Single choice")
        MULTIPLE = "multiple", gettext_lazy("Multiple choice")
        TRUE_FALSE = "true_false", gettext_lazy("True / false")
        NUMERIC = "numeric", gettext_lazy("Numeric")
        SHORT = "short", gettext_lazy("Short answer")
        FREE_TEXT = "free_text", gettext_lazy("Free text (AI graded)")

    class Status(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Needs review")
        APPROVED = "approved", gettext_lazy("Approved")

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=16, choices=Type.choices)
    prompt = models.TextField()
    options = models.JSONField(default=list, blank=True)
    correct = models.JSONField(default=list, blank=True, help_text="Indices of the correct options.")
    answers = models.JSONField(default=list, blank=True, help_text="Accepted answers (short) or the reference.")
    numeric_answer = models.FloatField(null=True, blank=True)
    tolerance = models.FloatField(default=0)
    points = models.FloatField(default=1)
    explanation = models.TextField(blank=True)
    source_passage = models.TextField(blank=True)
    difficulty = models.CharField(max_length=16, default="medium")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Versioning: a question that has answers is never edited in place; a new revision replaces it.
    revision = models.PositiveIntegerField(default=1)
    supersedes = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    is_current = models.BooleanField(default=True)
    generation_run = models.ForeignKey(GenerationRun, on_delete=models.SET_NULL, null=True, blank=True)
    model = models.CharField(max_length=200, blank=True, help_text="The model that wrote it; blank if a person did.")
    # With the model: who wrote it and with which prompt, kept with every revision for appeals (docs/ai-control.md).
    ai_provider = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.prompt[:80]

    @classmethod
    def from_draft(cls, draft: QuestionDraft, **fields: Any) -> Question:
        """An unsaved question holding a checked draft's content: a provider's or an instructor's."""
        return cls(
            type=draft.type,
            prompt=draft.prompt,
            options=draft.options,
            correct=draft.correct,
            answers=draft.answers,
            numeric_answer=draft.numeric_answer,
            tolerance=draft.tolerance,
            explanation=draft.explanation,
            source_passage=draft.source_passage,
            **fields,
        )

    @property
    def is_choice(self) -> bool:
        return self.type in (self.Type.SINGLE, self.Type.MULTIPLE, self.Type.TRUE_FALSE)

    @property
    def reference_answer(self) -> str:
        return self.answers[0] if self.answers else ""


class Attempt(models.Model):
    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", gettext_lazy("In progress")
        SUBMITTED = "submitted", gettext_lazy("Submitted")

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="quiz_attempts")
    resource_link = models.ForeignKey(ResourceLink, on_delete=models.SET_NULL, null=True, related_name="+")
    number = models.PositiveIntegerField()
    quiz_version = models.PositiveIntegerField()
    question_ids = models.JSONField(default=list, help_text="The questions this attempt was given, in order.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    score_maximum = models.FloatField(default=0)
    needs_review = models.BooleanField(default=False)
    # Staff trying their own quiz: graded and shown, never sent to the gradebook.
    is_preview = models.BooleanField(default=False)
    # Timing (services/windows.py): the due date and the hard end this attempt started under (the platform's
    # dates come with a launch, the beat that closes attempts has none), whether it was late and what it cost.
    due_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    late_penalty_percent = models.PositiveSmallIntegerField(default=0)
    extensions_used = models.PositiveSmallIntegerField(default=0)
    # The grading app's Score row (outbox) for this attempt; an id, so the apps' migrations stay independent.
    score_ref = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["quiz", "user", "resource_link", "number"], name="uniq_attempt")]
        indexes = [
            models.Index(fields=["quiz", "user", "state"]),
            # The few attempts with answers awaiting review: the review count on every staff page's navigation
            # and the course home's figures start here instead of scanning every answer (bench/analytics.py).
            models.Index(fields=["quiz"], condition=models.Q(needs_review=True), name="attempt_needs_review"),
        ]

    def __str__(self) -> str:
        return f"{self.user} #{self.number} on {self.quiz}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.IN_PROGRESS

    def is_past_deadline(self, now: datetime | None = None) -> bool:
        return self.deadline is not None and (now or timezone.now()) >= self.deadline

    def seconds_left(self, now: datetime | None = None) -> int | None:
        if self.deadline is None:
            return None
        return max(0, int((self.deadline - (now or timezone.now())).total_seconds()))


class Accommodation(models.Model):
    """One learner's allowance in one course, set by its instructors (services/accommodations.py)."""

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="quiz_accommodations")
    user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="quiz_accommodations")
    time_factor = models.FloatField(null=True, blank=True, help_text="1.5: half as much time again.")
    extra_minutes = models.PositiveIntegerField(default=0)
    extra_attempts = models.PositiveIntegerField(default=0)
    updated_by = models.ForeignKey(LtiUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "user"], name="uniq_accommodation")]

    def __str__(self) -> str:
        return f"allowance of {self.user} in {self.context}"

    @property
    def is_empty(self) -> bool:
        return not (self.time_factor and self.time_factor != 1) and not self.extra_minutes and not self.extra_attempts


class AnswerQuerySet(models.QuerySet["Answer"]):
    def awaiting_review(self) -> AnswerQuerySet:
        return self.filter(needs_review=True, reviewed_at__isnull=True, attempt__state=Attempt.State.SUBMITTED)


class Answer(models.Model):
    class GradedBy(models.TextChoices):
        EXACT = "exact"
        AI = "ai"
        INSTRUCTOR = "instructor"

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="given_answers")
    response = models.JSONField(null=True, blank=True, help_text="Option indices, a number, or text.")
    saved_at = models.DateTimeField(auto_now=True)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(default=1)
    graded_by = models.CharField(max_length=16, choices=GradedBy.choices, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    # Who graded it (an AI grade): kept after an instructor's review, for appeals (docs/ai-control.md).
    ai_provider = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=64, blank=True)
    needs_review = models.BooleanField(default=False)
    reviewer = models.ForeignKey(LtiUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    feedback = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = AnswerQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["attempt", "question"], name="uniq_answer")]

    def __str__(self) -> str:
        return f"answer {self.pk} to {self.question_id}"

    @property
    def is_correct(self) -> bool | None:
        if self.score is None:
            return None
        return self.score >= self.max_score


class AttemptQuestion(models.Model):
    """One question an attempt was given, in the order it was shown, with the order its options were shown in.

    Written once, when the attempt starts, with ``Attempt.question_ids`` (the same draw, kept there for the code
    that reads the list): this table is the fact to query, e.g. item analysis counts a question over the attempts
    that saw it (``selectors.attempt_questions``, ``selectors.question_seen_counts``)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="seen")
    # PROTECT: a question an attempt saw is retired, never deleted (services/questions.py question_retire).
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="seen_by")
    position = models.PositiveIntegerField()
    option_order = models.JSONField(
        default=list, blank=True, help_text="Option indices as written, in the order shown; empty: as written."
    )

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [models.UniqueConstraint(fields=["attempt", "question"], name="uniq_attempt_question")]

    def __str__(self) -> str:
        return f"attempt {self.attempt_id} saw {self.question_id} at {self.position}"
