from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from . import services
from .models import ResourceLinkMember, RosterSync


@admin.register(RosterSync)
class RosterSyncAdmin(admin.ModelAdmin):
    list_display = ("context", "resource_link", "status", "last_success_at", "consecutive_failures", "last_error")
    list_filter = ("status",)
    search_fields = ("context__title", "context__context_id")
    readonly_fields = [f.name for f in RosterSync._meta.fields]
    actions = ["sync_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=gettext_lazy("Sync now (full read from the platform)"))
    def sync_now(self, request: HttpRequest, queryset: QuerySet[RosterSync]) -> None:
        queued = 0
        for sync in queryset.select_related("context", "resource_link"):
            _, was_queued = services.roster_sync_request(
                context=sync.context,
                resource_link=sync.resource_link,
                actor_type="admin",
                actor_id=str(getattr(request.user, "pk", "")),
            )
            queued += was_queued
        self.message_user(
            request,
            # The English stays as it was (one form); a language with plurals gets both.
            ngettext(
                "%(queued)s roster sync(s) queued; %(already)s already on their way.",
                "%(queued)s roster sync(s) queued; %(already)s already on their way.",
                queued,
            )
            % {"queued": queued, "already": queryset.count() - queued},
            messages.SUCCESS,
        )


@admin.register(ResourceLinkMember)
class ResourceLinkMemberAdmin(admin.ModelAdmin):
    list_display = ("resource_link", "user", "is_active", "updated_at")
    list_filter = ("is_active",)
    readonly_fields = ("resource_link", "user", "is_active", "updated_at")
