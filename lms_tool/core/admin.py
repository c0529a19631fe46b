from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_type", "actor_id", "action", "object_type", "object_id", "source")
    list_filter = ("actor_type", "action", "object_type", "source", "created_at")
    # "membership 42" style searches: every word must match one of these.
    search_fields = ("actor_id", "object_id", "action", "object_type", "source")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
