"""API clients are created here: the token is shown once, in a message, and never stored."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiClient
from .scopes import SCOPES


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope} — {text}") for scope, text in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "all_contexts", "registrations", "contexts", "rate_limit_per_minute", "is_active"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "client_id", "is_active", "revoked_at", "last_used_at", "created_at")
    list_filter = ("is_active", "all_contexts")
    search_fields = ("name", "client_id")
    readonly_fields = ("client_id", "revoked_at", "last_used_at", "created_by", "created_at", "updated_at")
    filter_horizontal = ("registrations", "contexts")
    actions = ["revoke", "rotate_secret"]

    def save_model(self, request: Any, obj: ApiClient, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token = services.api_client_issue(client=obj, actor=request.user.get_username())
        messages.warning(
            request, gettext("Give this token to the client now; it is not shown again: %(token)s") % {"token": token}
        )

    @admin.action(description=_("Revoke: the client's requests are refused (401) from now on"))
    def revoke(self, request: Any, queryset: Any) -> None:
        for client in queryset:
            services.api_client_revoke(client=client, actor=request.user.get_username())
        count = queryset.count()
        # The English stays as it was (one form); a language with plurals gets both.
        self.message_user(
            request, ngettext("Revoked %(count)s client(s).", "Revoked %(count)s client(s).", count) % {"count": count}
        )

    @admin.action(description=_("Rotate the secret (the old one stops working at once)"))
    def rotate_secret(self, request: Any, queryset: Any) -> None:
        for client in queryset:
            token = services.api_client_rotate_secret(client=client, actor=request.user.get_username())
            messages.warning(
                request,
                gettext("New token for %(name)s (shown once): %(token)s") % {"name": client.name, "token": token},
            )
