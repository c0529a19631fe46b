"""Each registration's LRS (credentials write-only, encrypted at rest) and the statement outbox (replayable)."""

from __future__ import annotations

from typing import Any

import requests
from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms_tool.core import http

from . import services
from .models import LrsEndpoint, Statement, StatementState


class LrsEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=1000,
        assume_scheme="https",
        label=_("URL"),
        help_text=_("The LRS's xAPI base URL (statements go to <url>/statements); it must be a public address."),
    )
    key = forms.CharField(
        label=_("Key"),
        required=False,
        help_text=_("HTTP Basic user (the LRS's key). Leave blank to keep the stored one."),
    )
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label=_("Secret"),
        help_text=_("HTTP Basic password (the LRS's secret). Stored encrypted; leave blank to keep the stored one."),
    )

    class Meta:
        model = LrsEndpoint
        fields = ["registration", "url", "key", "secret", "actor_format", "mastery_score", "batch_size", "is_active"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            http.check_public_url(url)
        except requests.RequestException as exc:
            raise forms.ValidationError(
                _("This address cannot be reached from the tool: use the LRS's public http(s) URL.")
            ) from exc
        return url

    def clean_mastery_score(self) -> float:
        value: float = self.cleaned_data["mastery_score"]
        if not 0 <= value <= 1:
            raise forms.ValidationError(_("Give a scaled score between 0 and 1, e.g. 0.5 for half the points."))
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if not self.instance.key_encrypted and not (data.get("key") and data.get("secret")):
            raise forms.ValidationError(_("Give the key and secret the LRS issued for this tool."))
        return data


@admin.register(LrsEndpoint)
class LrsEndpointAdmin(admin.ModelAdmin):
    form = LrsEndpointForm
    list_display = ("registration", "url", "actor_format", "is_active", "updated_at")
    list_filter = ("is_active", "actor_format")
    search_fields = ("url", "registration__issuer", "registration__name")

    def save_model(self, request: Any, obj: LrsEndpoint, form: Any, change: bool) -> None:
        services.endpoint_save(
            endpoint=obj, key=form.cleaned_data.get("key", ""), secret=form.cleaned_data.get("secret", "")
        )


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = (
        "statement_id",
        "verb",
        "endpoint",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("state", "verb", "endpoint")
    search_fields = ("statement_id", "last_error")
    readonly_fields = [f.name for f in Statement._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Replay: send again with a fresh set of attempts (same statement ids)"))
    def replay(self, request: Any, queryset: Any) -> None:
        dead = queryset.filter(state=StatementState.DEAD).count()
        count = services.statements_replay(pks=queryset.values_list("pk", flat=True), actor=request.user.get_username())
        self.message_user(
            request,
            # The English stays as it was (one form); a language with plurals gets both.
            ngettext(
                "Queued %(count)s statement(s) again (%(dead)s were dead-lettered; sent ones are left).",
                "Queued %(count)s statement(s) again (%(dead)s were dead-lettered; sent ones are left).",
                count,
            )
            % {"count": count, "dead": dead},
        )
