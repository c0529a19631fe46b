"""Decks, cards, each learner's FSRS memory state per card, and the append-only review log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from lms_tool.lti.models import Context, LtiUser, ResourceLink


def _default_learning_steps() -> list[int]:
    return [60, 600]  # seconds: fsrs's defaults (1 min, 10 min)


def _default_relearning_steps() -> list[int]:
    return [600]


class DeckQuerySet(models.QuerySet["Deck"]):
    def published(self) -> DeckQuerySet:
        return self.filter(status=Deck.Status.PUBLISHED)


class Deck(models.Model):
    """A set of cards in one course, with the scheduling settings its learners review under."""

    class Status(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Draft")
        PUBLISHED = "published", gettext_lazy("Published")

    class GradingRule(models.TextChoices):
        """What the deck's gradebook column means (flashcards/grades.py computes it; the picker and the deck's
        page say it in words)."""

        NONE = "none", gettext_lazy("Not graded")
        COMPLETION = "completion", gettext_lazy("Completion: share of the cards studied at least once")
        RECALL = "recall", gettext_lazy("Recall: share of the cards the learner would recall now above a threshold")

    context = models.ForeignKey(
        Context, on_delete=models.CASCADE, related_name="flashcard_decks", verbose_name=gettext_lazy("context")
    )
    title = models.CharField(max_length=200, verbose_name=gettext_lazy("title"))
    description = models.TextField(blank=True, verbose_name=gettext_lazy("description"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, verbose_name=gettext_lazy("status")
    )
    desired_retention = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.7), MaxValueValidator(0.99)],
        help_text=gettext_lazy("Probability of recall the schedule aims for when a card falls due (0.70-0.99)."),
        verbose_name=gettext_lazy("desired retention"),
    )
    maximum_interval = models.PositiveIntegerField(
        default=36500,
        validators=[MinValueValidator(1), MaxValueValidator(36500)],
        help_text=gettext_lazy("In days."),
        verbose_name=gettext_lazy("maximum interval"),
    )
    learning_steps = models.JSONField(
        default=_default_learning_steps,
        help_text=gettext_lazy("Seconds between learning steps."),
        verbose_name=gettext_lazy("learning steps"),
    )
    relearning_steps = models.JSONField(
        default=_default_relearning_steps,
        help_text=gettext_lazy("Seconds, after a lapse."),
        verbose_name=gettext_lazy("relearning steps"),
    )
    new_cards_per_day = models.PositiveIntegerField(
        default=20, validators=[MaxValueValidator(9999)], verbose_name=gettext_lazy("new cards per day")
    )
    enable_fuzzing = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Spread review intervals by a few days."),
        verbose_name=gettext_lazy("enable fuzzing"),
    )
    grading_rule = models.CharField(
        max_length=16,
        choices=GradingRule.choices,
        default=GradingRule.COMPLETION,
        verbose_name=gettext_lazy("grading rule"),
    )
    # The recall rule's bar, the instructor's grading choice; not desired_retention, which is the scheduler's
    # setting (when a card falls due) and is tuned for study, not for grading.
    grading_threshold = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.99)],
        help_text=gettext_lazy(
            "Recall rule: a card counts when the learner's predicted recall now is at least this (0.50-0.99)."
        ),
        verbose_name=gettext_lazy("grading threshold"),
    )
    # Dates (UTC; a platform's dates sent with the launch win, flashcards/windows.py, docs/assessment.md).
    opens_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Learners may study from then."),
        verbose_name=gettext_lazy("opens at"),
    )
    due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Shown to learners; study goes on after it."),
        verbose_name=gettext_lazy("due at"),
    )
    closes_at = models.DateTimeField(
        null=True, blank=True, help_text=gettext_lazy("No study after it."), verbose_name=gettext_lazy("closes at")
    )
    created_by = models.ForeignKey(
        LtiUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("created by"),
    )
    # A course's own copy of a deck of another course of the same registration, made at the first launch of a
    # link the LMS copied along with its course (the link still names the original).
    copied_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
        verbose_name=gettext_lazy("copied from"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))
    published_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("published at"))

    objects = DeckQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        verbose_name = gettext_lazy("deck")
        verbose_name_plural = gettext_lazy("decks")

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def grading_description(self) -> str:
        """How the deck's gradebook column is computed (flashcards/grades.py), in words for the picker and pages."""
        # Shown on learners' review pages: in the interface's language (docs/translation.md).
        if self.grading_rule == self.GradingRule.NONE:
            return _("Not graded: no gradebook column; study is not sent to the gradebook.")
        if self.grading_rule == self.GradingRule.COMPLETION:
            what = _("the share of the deck's cards the learner has studied at least once")
        else:
            what = _(
                "the share of the deck's cards the learner would recall today with a probability of at least "
                "%(threshold)s%% (predicted from their reviews: it falls as memories fade and rises with study)"
            ) % {"threshold": number_format(round(self.grading_threshold * 100))}
        return _(
            "Graded out of 100: %(what)s. Nothing is sent before the learner's first rating; after a rating the "
            "gradebook is updated within a minute."
        ) % {"what": what}

    def learning_deltas(self) -> tuple[timedelta, ...]:
        return tuple(timedelta(seconds=int(s)) for s in self.learning_steps)

    def relearning_deltas(self) -> tuple[timedelta, ...]:
        return tuple(timedelta(seconds=int(s)) for s in self.relearning_steps)


class CardQuerySet(models.QuerySet["Card"]):
    def approved(self) -> CardQuerySet:
        return self.filter(status=Card.Status.APPROVED)


class Card(models.Model):
    """One card: Markdown front and back, or a cloze text (``{{c1::answer}}``) on the front."""

    class Kind(models.TextChoices):
        BASIC = "basic", gettext_lazy("Front and back")
        CLOZE = "cloze", gettext_lazy("Cloze deletion")

    class Status(models.TextChoices):
        PROPOSED = "proposed", gettext_lazy("Proposed (needs approval)")
        APPROVED = "approved", gettext_lazy("Approved")

    class Origin(models.TextChoices):
        MANUAL = "manual", gettext_lazy("Written by staff")
        AI = "ai", gettext_lazy("Generated")
        IMPORT = "import", gettext_lazy("Imported")

    deck = models.ForeignKey(Deck, on_delete=models.CASCADE, related_name="cards", verbose_name=gettext_lazy("deck"))
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.BASIC, verbose_name=gettext_lazy("kind"))
    front = models.TextField(verbose_name=gettext_lazy("front"))
    back = models.TextField(blank=True, verbose_name=gettext_lazy("back"))
    source_passage = models.TextField(
        blank=True,
        help_text=gettext_lazy("The course text the card was made from."),
        verbose_name=gettext_lazy("source passage"),
    )
    tags = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("Concepts the card tests."), verbose_name=gettext_lazy("tags")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PROPOSED, verbose_name=gettext_lazy("status")
    )
    origin = models.CharField(
        max_length=8, choices=Origin.choices, default=Origin.MANUAL, verbose_name=gettext_lazy("origin")
    )
    position = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("position"))
    # A generated card's provenance, kept for appeals (docs/ai-control.md); blank for a person's card.
    model = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("model"))
    ai_provider = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("ai provider"))
    prompt_version = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("prompt version"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["deck", "status", "position"])]
        verbose_name = gettext_lazy("card")
        verbose_name_plural = gettext_lazy("cards")

    def __str__(self) -> str:
        return self.front[:60]


class State(models.IntegerChoices):
    """fsrs.State values, stored as they are so a row converts to an fsrs Card without a table."""

    LEARNING = 1, gettext_lazy("Learning")
    REVIEW = 2, gettext_lazy("Review")
    RELEARNING = 3, gettext_lazy("Relearning")


class CardState(models.Model):
    """What FSRS knows about one learner's memory of one card. Created at the learner's first rating."""

    learner = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="flashcard_states")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="states")
    # Denormalised from card.deck so the review queue reads one table.
    deck = models.ForeignKey(Deck, on_delete=models.CASCADE, related_name="+")
    state = models.PositiveSmallIntegerField(choices=State.choices, default=State.LEARNING)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField()
    last_review = models.DateTimeField(null=True, blank=True)
    # The optimistic-lock version: a rating is accepted only for the reps it was shown at.
    reps = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["learner", "card"], name="uniq_flashcard_state")]
        indexes = [
            models.Index(fields=["learner", "due"], name="flashcard_state_queue"),
            models.Index(fields=["deck", "learner"], name="flashcard_state_deck"),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id}/{self.card_id} {self.get_state_display()} due {self.due:%Y-%m-%d %H:%M}"

    def is_due(self, now: datetime) -> bool:
        return self.due <= now


class ReviewLogQuerySet(models.QuerySet["ReviewLog"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("the review log is append-only")


class ReviewLog(models.Model):
    """One rating, never changed: what the learner answered, when, how long it took, and what FSRS made of it."""

    class Rating(models.IntegerChoices):
        AGAIN = 1, "Again"
        HARD = 2, "Hard"
        GOOD = 3, "Good"
        EASY = 4, "Easy"

    learner = models.ForeignKey(
        LtiUser, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("learner")
    )
    card = models.ForeignKey(
        Card, on_delete=models.CASCADE, related_name="review_logs", verbose_name=gettext_lazy("card")
    )
    deck = models.ForeignKey(Deck, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("deck"))
    rating = models.PositiveSmallIntegerField(choices=Rating.choices, verbose_name=gettext_lazy("rating"))
    reviewed_at = models.DateTimeField(verbose_name=gettext_lazy("reviewed at"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=gettext_lazy("duration ms"))
    state_after = models.PositiveSmallIntegerField(choices=State.choices, verbose_name=gettext_lazy("state after"))
    stability_after = models.FloatField(verbose_name=gettext_lazy("stability after"))
    difficulty_after = models.FloatField(verbose_name=gettext_lazy("difficulty after"))
    due_after = models.DateTimeField(verbose_name=gettext_lazy("due after"))
    # The id the review page gave this rating (templates/flashcards/review.html): a rating kept in the
    # browser while offline or after the launch ended is sent again, and must count once.
    client_id = models.CharField(max_length=64, blank=True, default="", verbose_name=gettext_lazy("client id"))

    objects = ReviewLogQuerySet.as_manager()

    class Meta:
        ordering = ["reviewed_at", "id"]
        indexes = [
            models.Index(fields=["learner", "reviewed_at"], name="flashcard_log_learner"),
            models.Index(fields=["card", "learner", "reviewed_at"], name="flashcard_log_card"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "client_id"], condition=~models.Q(client_id=""), name="flashcard_log_client_id"
            )
        ]
        verbose_name = gettext_lazy("review log")
        verbose_name_plural = gettext_lazy("review logs")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return _("%(learner)s/%(card)s %(rating)s at %(time)s") % {
            "learner": self.learner_id,
            "card": self.card_id,
            "rating": self.get_rating_display(),
            "time": f"{self.reviewed_at:%Y-%m-%d %H:%M}",
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only, like the audit log: the history FSRS and the optimiser replay must not change.
        if self.pk is not None:
            raise ValueError("review log entries are append-only")
        super().save(*args, **kwargs)


class LearnerParameters(models.Model):
    """FSRS weights fitted to one learner's review log (``optimizer``), kept because they predicted the
    learner's held-out reviews better than the weights they replaced."""

    learner = models.OneToOneField(
        LtiUser, on_delete=models.CASCADE, related_name="fsrs_parameters", verbose_name=gettext_lazy("learner")
    )
    parameters = models.JSONField(
        help_text=gettext_lazy("The 21 FSRS weights."), verbose_name=gettext_lazy("parameters")
    )
    review_count = models.PositiveIntegerField(
        help_text=gettext_lazy("Reviews the fit was made from."), verbose_name=gettext_lazy("review count")
    )
    optimized_at = models.DateTimeField(verbose_name=gettext_lazy("optimized at"))

    class Meta:
        # Django would say "learner parameterss"; the admin lists these as FSRS parameters.
        verbose_name = gettext_lazy("learner's FSRS parameters")
        verbose_name_plural = gettext_lazy("learners' FSRS parameters")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return ngettext(
            "FSRS parameters of %(learner)s (%(count)s reviews)",
            "FSRS parameters of %(learner)s (%(count)s reviews)",
            self.review_count,
        ) % {"learner": self.learner_id, "count": self.review_count}


class DeckParameters(models.Model):
    """FSRS weights fitted to the pooled reviews of a deck's learners, for those with too few reviews of
    their own to fit (``optimizer``)."""

    deck = models.OneToOneField(
        Deck, on_delete=models.CASCADE, related_name="fsrs_parameters", verbose_name=gettext_lazy("deck")
    )
    parameters = models.JSONField(
        help_text=gettext_lazy("The 21 FSRS weights."), verbose_name=gettext_lazy("parameters")
    )
    review_count = models.PositiveIntegerField(
        help_text=gettext_lazy("Reviews the fit was made from."), verbose_name=gettext_lazy("review count")
    )
    learner_count = models.PositiveIntegerField(
        help_text=gettext_lazy("Learners whose reviews were pooled."), verbose_name=gettext_lazy("learner count")
    )
    optimized_at = models.DateTimeField(verbose_name=gettext_lazy("optimized at"))

    class Meta:
        verbose_name = gettext_lazy("deck's FSRS parameters")
        verbose_name_plural = gettext_lazy("decks' FSRS parameters")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return ngettext(
            "FSRS parameters of deck %(deck)s (%(count)s reviews)",
            "FSRS parameters of deck %(deck)s (%(count)s reviews)",
            self.review_count,
        ) % {"deck": self.deck_id, "count": self.review_count}


class ParameterFit(models.Model):
    """One fitting attempt, kept or not: what was fitted, from how much, and how each weight set predicted
    the held-out reviews. Also what tells the schedule when a learner or deck is due for the next try."""

    learner = models.ForeignKey(
        LtiUser, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=gettext_lazy("learner")
    )
    deck = models.ForeignKey(
        Deck, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=gettext_lazy("deck")
    )
    fitted_at = models.DateTimeField(verbose_name=gettext_lazy("fitted at"))
    review_count = models.PositiveIntegerField(verbose_name=gettext_lazy("review count"))
    train_items = models.PositiveIntegerField(verbose_name=gettext_lazy("train items"))
    test_items = models.PositiveIntegerField(verbose_name=gettext_lazy("test items"))
    parameters = models.JSONField(
        help_text=gettext_lazy("The candidate weights."), verbose_name=gettext_lazy("parameters")
    )
    candidate_log_loss = models.FloatField(verbose_name=gettext_lazy("candidate log loss"))
    candidate_rmse = models.FloatField(verbose_name=gettext_lazy("candidate rmse"))
    current_log_loss = models.FloatField(
        help_text=gettext_lazy("The weights in use before, on the same held-out reviews."),
        verbose_name=gettext_lazy("current log loss"),
    )
    current_rmse = models.FloatField(verbose_name=gettext_lazy("current rmse"))
    kept = models.BooleanField(
        help_text=gettext_lazy("True when the candidate predicted better and replaced the weights."),
        verbose_name=gettext_lazy("kept"),
    )
    trainer = models.CharField(max_length=64, verbose_name=gettext_lazy("trainer"))

    class Meta:
        verbose_name = gettext_lazy("FSRS fit")
        ordering = ["-fitted_at", "-id"]
        indexes = [
            models.Index(fields=["learner", "-fitted_at"], name="flashcard_fit_learner"),
            models.Index(fields=["deck", "-fitted_at"], name="flashcard_fit_deck"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(learner__isnull=False) | models.Q(deck__isnull=False), name="flashcard_fit_subject"
            )
        ]
        verbose_name_plural = gettext_lazy("FSRS fits")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        values = {"learner": self.learner_id, "deck": self.deck_id, "time": f"{self.fitted_at:%Y-%m-%d %H:%M}"}
        if self.learner_id:
            if self.kept:
                return _("FSRS fit of learner %(learner)s at %(time)s (kept)") % values
            return _("FSRS fit of learner %(learner)s at %(time)s (not kept)") % values
        if self.kept:
            return _("FSRS fit of deck %(deck)s at %(time)s (kept)") % values
        return _("FSRS fit of deck %(deck)s at %(time)s (not kept)") % values


class DeckGrade(models.Model):
    """The last deck progress posted to the gradebook for a learner and placement (throttles posting)."""

    deck = models.ForeignKey(Deck, on_delete=models.CASCADE, related_name="grades", verbose_name=gettext_lazy("deck"))
    learner = models.ForeignKey(
        LtiUser, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("learner")
    )
    resource_link = models.ForeignKey(
        ResourceLink, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("resource link")
    )
    progress = models.FloatField(
        default=0.0, help_text=gettext_lazy("Latest computed progress, 0..1."), verbose_name=gettext_lazy("progress")
    )
    posted_progress = models.FloatField(null=True, blank=True, verbose_name=gettext_lazy("posted progress"))
    posted_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("posted at"))
    dirty = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Progress changed since the last posting."),
        verbose_name=gettext_lazy("dirty"),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deck", "learner", "resource_link"], name="uniq_flashcard_grade")
        ]
        indexes = [models.Index(fields=["dirty", "posted_at"], name="flashcard_grade_dirty")]
        verbose_name = gettext_lazy("deck grade")
        verbose_name_plural = gettext_lazy("deck grades")

    def __str__(self) -> str:
        return f"{self.deck_id}/{self.learner_id}: {number_format(self.progress, 2)}"  # 0,50 in Spanish


class DeckGeneration(models.Model):
    """One request to generate cards from course text, kept with the model and prompt used."""

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")

    deck = models.ForeignKey(
        Deck, on_delete=models.CASCADE, related_name="generations", verbose_name=gettext_lazy("deck")
    )
    requested_by = models.ForeignKey(
        LtiUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("requested by"),
    )
    text = models.TextField(verbose_name=gettext_lazy("text"))
    count = models.PositiveIntegerField(verbose_name=gettext_lazy("count"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=gettext_lazy("status")
    )
    error = models.TextField(blank=True, verbose_name=gettext_lazy("error"))
    model = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("model"))
    prompt = models.TextField(blank=True, verbose_name=gettext_lazy("prompt"))
    created_count = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("created count"))
    rejected = models.JSONField(default=list, blank=True, verbose_name=gettext_lazy("rejected"))
    # Why the institution's model was not used: AI turned off, or this month's budget used up.
    ai_notice = models.TextField(blank=True, verbose_name=gettext_lazy("ai notice"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("finished at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = gettext_lazy("deck generation")
        verbose_name_plural = gettext_lazy("deck generations")

    def __str__(self) -> str:
        # The admin shows it (docs/translation.md): its words are a message; no log line prints it.
        return _("generation %(number)s of deck %(deck)s: %(status)s") % {
            "number": self.pk,
            "deck": self.deck_id,
            "status": self.status,
        }
