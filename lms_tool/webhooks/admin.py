"""Subscriptions (secret shown once at creation) and deliveries (dead letters replayable)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms_tool.core.errors import ToolError

from . import services
from .models import Delivery, DeliveryState, Subscription


class SubscriptionForm(forms.ModelForm):
    events = forms.CharField(label=_("Events"), help_text=_("Comma-separated: 'enrollment.removed, score.*' or '*'."))
    url = forms.URLField(label=_("URL"), max_length=1000, assume_scheme="https", help_text=_("A public http(s) URL."))

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "api_client", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["events"] = ", ".join(self.instance.events)

    def clean_events(self) -> list[str]:
        events = [e.strip() for e in self.cleaned_data["events"].split(",") if e.strip()]
        try:
            return services.events_check(events)
        except ToolError as exc:
            raise forms.ValidationError(exc.user_message) from exc

    def clean_url(self) -> str:
        try:
            return services.url_check(self.cleaned_data["url"])
        except ToolError as exc:
            raise forms.ValidationError(exc.user_message) from exc


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("name", "url", "is_active", "api_client", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")

    def save_model(self, request: Any, obj: Subscription, form: Any, change: bool) -> None:
        actor = request.user.get_username()
        data = form.cleaned_data
        if change:
            services.subscription_update(
                subscription=obj,
                actor_type="admin",
                actor_id=actor,
                url=data["url"],
                events=data["events"],
                is_active=data["is_active"],
                name=data["name"],
            )
            return
        created, secret = services.subscription_create(
            name=data["name"],
            url=data["url"],
            events=data["events"],
            actor_type="admin",
            actor_id=actor,
            api_client=data.get("api_client"),
        )
        obj.pk = created.pk
        messages.warning(
            request,
            _("Signing secret for %(name)s (shown once; give it to the receiver): %(secret)s")
            % {"name": created.name, "secret": secret},
        )

    def delete_model(self, request: Any, obj: Subscription) -> None:
        services.subscription_delete(subscription=obj, actor_type="admin", actor_id=request.user.get_username())

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for subscription in queryset:
            self.delete_model(request, subscription)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "subscription", "state", "attempts", "last_status", "next_attempt_at", "delivered_at")
    list_filter = ("state", "subscription")
    search_fields = ("event__event_id", "event__type", "last_error")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Replay: send again with a fresh set of attempts"))
    def replay(self, request: Any, queryset: Any) -> None:
        chosen = list(queryset)
        dead = sum(d.state == DeliveryState.DEAD for d in chosen)
        for delivery in chosen:
            services.delivery_replay(delivery=delivery, actor_type="admin", actor_id=request.user.get_username())
        # The English stays as it was (one form); a language with plurals gets both.
        self.message_user(
            request,
            ngettext(
                "Queued %(count)s delivery(ies) again (%(dead)s were dead-lettered).",
                "Queued %(count)s delivery(ies) again (%(dead)s were dead-lettered).",
                len(chosen),
            )
            % {"count": len(chosen), "dead": dead},
        )
