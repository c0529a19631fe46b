from django.contrib import admin
from django.http import HttpRequest

from .models import Card, Deck, DeckGeneration, DeckGrade, DeckParameters, LearnerParameters, ParameterFit, ReviewLog


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    fields = ("front", "back", "tags", "status", "origin", "position")


@admin.register(Deck)
class DeckAdmin(admin.ModelAdmin):
    list_display = ("title", "context", "status", "desired_retention", "new_cards_per_day", "updated_at")
    list_filter = ("status",)
    search_fields = ("title",)
    raw_id_fields = ("context", "created_by")
    inlines = [CardInline]


@admin.register(ReviewLog)
class ReviewLogAdmin(admin.ModelAdmin):
    """Read-only: the log is the history FSRS and the optimiser replay."""

    list_display = ("reviewed_at", "learner", "card", "rating", "duration_ms", "state_after", "due_after")
    list_filter = ("rating",)
    raw_id_fields = ("learner", "card", "deck")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DeckGeneration)
class DeckGenerationAdmin(admin.ModelAdmin):
    list_display = ("pk", "deck", "status", "count", "created_count", "model", "created_at")
    list_filter = ("status",)
    readonly_fields = ("prompt", "rejected", "error")
    raw_id_fields = ("deck", "requested_by")


@admin.register(DeckGrade)
class DeckGradeAdmin(admin.ModelAdmin):
    list_display = ("deck", "learner", "progress", "posted_progress", "posted_at", "dirty")
    raw_id_fields = ("deck", "learner", "resource_link")


@admin.register(LearnerParameters)
class LearnerParametersAdmin(admin.ModelAdmin):
    list_display = ("learner", "review_count", "optimized_at")
    raw_id_fields = ("learner",)


@admin.register(DeckParameters)
class DeckParametersAdmin(admin.ModelAdmin):
    list_display = ("deck", "review_count", "learner_count", "optimized_at")
    raw_id_fields = ("deck",)


@admin.register(ParameterFit)
class ParameterFitAdmin(admin.ModelAdmin):
    """Read-only: every fitting try, kept or not, and how each weight set predicted the held-out reviews."""

    list_display = ("fitted_at", "learner", "deck", "review_count", "candidate_log_loss", "current_log_loss", "kept")
    list_filter = ("kept",)
    raw_id_fields = ("learner", "deck")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
