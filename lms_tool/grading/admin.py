"""Admin: scores (the outbox), the dead-letter list with the platform's answer, line items.

Replaying is an admin action that calls ``services.score_replay``; nothing else here writes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import AgsEndpoint, DeadLetter, LineItem, PassbackState, Score

READONLY = [
    "user",
    "resource_link",
    "line_item",
    "score_given",
    "score_maximum",
    "activity_progress",
    "grading_progress",
    "comment",
    "timestamp",
    "source",
    "confidence",
    "review_threshold",
    "review_state",
    "reviewed_by",
    "reviewed_at",
    "passback_state",
    "attempts",
    "next_attempt_at",
    "last_status",
    "last_error",
    "last_response",
    "posted_at",
    "created_at",
    "updated_at",
]


@admin.action(description=_("Replay: post the selected dead letters again"))
def replay(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Score]) -> None:
    replayed = skipped = 0
    for score in queryset:
        if score.passback_state not in (PassbackState.DEAD, PassbackState.FAILED):
            skipped += 1
            continue
        services.score_replay(score=score, actor=request.user.get_username())
        replayed += 1
    # The English stays as it was (one form); a language with plurals gets both.
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)s score(s) queued for posting again.", "%(count)s score(s) queued for posting again.", replayed
        )
        % {"count": replayed},
        messages.SUCCESS,
    )
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)s score(s) were not dead letters and were left alone.",
                "%(count)s score(s) were not dead letters and were left alone.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )


class _ReadOnly(admin.ModelAdmin):
    readonly_fields = READONLY
    list_select_related = ["user", "line_item"]
    search_fields = ["user__sub", "user__name", "line_item__url", "line_item__label"]
    actions = [replay]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Score | None = None) -> bool:
        return False  # the outbox is the record of what was sent; it is never edited by hand


@admin.register(Score)
class ScoreAdmin(_ReadOnly):
    list_display = [
        "id",
        "user",
        "line_item",
        "score_given",
        "score_maximum",
        "grading_progress",
        "source",
        "review_state",
        "passback_state",
        "attempts",
        "timestamp",
    ]
    list_filter = ["passback_state", "review_state", "source", "grading_progress"]


@admin.register(DeadLetter)
class DeadLetterAdmin(_ReadOnly):
    """Scores the platform did not take: retries exhausted (dead) or refused for good (failed)."""

    list_display = [
        "id",
        "user",
        "line_item",
        "score_given",
        "passback_state",
        "attempts",
        "last_status",
        "last_error",
        "updated_at",
    ]
    list_filter = ["passback_state", "last_status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Score]:
        return super().get_queryset(request).filter(passback_state__in=[PassbackState.DEAD, PassbackState.FAILED])


@admin.register(LineItem)
class LineItemAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "resource_link", "url", "score_maximum", "created_at"]
    search_fields = ["label", "url", "resource_link__resource_link_id"]
    readonly_fields = ["resource_link", "url", "create_attempted_at", "created_at", "updated_at"]


@admin.register(AgsEndpoint)
class AgsEndpointAdmin(admin.ModelAdmin):
    list_display = ["context", "lineitems_url", "updated_at"]
    readonly_fields = ["context", "lineitems_url", "scopes", "updated_at"]
