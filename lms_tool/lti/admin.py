from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from lms_tool.core.services import request_origin

from . import ai_control, dynamic_registration, framing, keys, registry, selectors
from .models import (
    Context,
    Deployment,
    LtiUser,
    Membership,
    Registration,
    RegistrationInvitation,
    ResourceLink,
    ToolKey,
)


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 0


class RegistrationForm(forms.ModelForm):
    # A plain integer field: its own clean gives the one clear message for 0 and negatives (docs/ai-control.md).
    ai_monthly_token_budget = forms.IntegerField(
        required=False,
        label=_("Monthly AI token budget"),
        help_text=Registration._meta.get_field("ai_monthly_token_budget").help_text,
    )

    def clean_ai_monthly_token_budget(self) -> int | None:
        try:
            return ai_control.budget_clean(self.cleaned_data.get("ai_monthly_token_budget"))
        except ai_control.AiSettingsInvalid as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_frame_origins(self) -> list[str]:
        """A list of origins (``https://school.instructure.com``), normalised; each bad one named (docs/security.md)."""
        value = self.cleaned_data.get("frame_origins") or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError(
                gettext('Give a JSON list of origins, like ["https://school.instructure.com"].')
            )
        errors, origins = [], []
        for item in value:
            try:
                origins.append(framing.origin_clean(item))
            except ValueError as exc:
                errors.append(str(exc))
        if len(set(origins)) > framing.MAX_FRAME_ORIGINS:
            errors.append(gettext("At most %(most)s origins.") % {"most": framing.MAX_FRAME_ORIGINS})
        if errors:
            raise forms.ValidationError(errors)
        return list(dict.fromkeys(origins))


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    form = RegistrationForm
    list_display = (
        "__str__",
        "issuer",
        "client_id",
        "family",
        "deployment_policy",
        "is_active",
        "pending_approval",
        "ai_enabled",
    )
    list_filter = ("pending_approval", "family", "is_active", "deployment_policy", "ai_enabled")
    search_fields = ("issuer", "client_id", "name")
    inlines = [DeploymentInline]
    actions = ["approve"]
    readonly_fields = ("ai_data_flow",)

    @admin.display(description=_("What leaves the tool (AI)"))
    def ai_data_flow(self, obj: Registration) -> str:
        """Where the admin decides, what the decision means: each field of each content, and to which URL."""
        return format_html_join("", "<p>{}</p>", ((line,) for line in ai_control.data_flow(obj)))

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        fields = ("ai_enabled", "ai_monthly_token_budget")
        before = Registration.objects.filter(pk=obj.pk).values(*fields).first() if change else {}
        super().save_model(request, obj, form, change)
        # Turning AI off or on is a data-processing decision: audited like the other admin decisions.
        ai_control.settings_audit(
            registration=obj, actor=request.user.get_username(), source="admin", before=dict(before or {})
        )

    @admin.action(description=_("Approve: activate registrations that await approval (uninvited Dynamic Registration)"))
    def approve(self, request, queryset):  # type: ignore[no-untyped-def]
        origin = request_origin(request)
        approved = [
            r
            for r in queryset
            if registry.registration_approve(registration_id=r.pk, actor=request.user.get_username(), **origin)
        ]
        skipped = queryset.count() - len(approved)
        if approved:
            self.message_user(
                request,
                # The English stays as it was (one form); a language with plurals gets both.
                ngettext(
                    "Approved %(registrations)s: it launches from now on.",
                    "Approved %(registrations)s: it launches from now on.",
                    len(approved),
                )
                % {"registrations": ", ".join(str(r) for r in approved)},
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)s selected registration(s) did not await approval.",
                    "%(count)s selected registration(s) did not await approval.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


class InvitationAddForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1,
        max_value=registry.INVITATION_MAX_DAYS,
        initial=registry.INVITATION_DAYS,
        label=_("Days"),
        help_text=_("The link stops working after this many days, or once used."),
    )

    class Meta:
        model = RegistrationInvitation
        fields = ["label"]


@admin.register(RegistrationInvitation)
class RegistrationInvitationAdmin(admin.ModelAdmin):
    """Invitations a platform admin pastes into Canvas or Moodle; the link is shown once, on creation."""

    list_display = ("__str__", "state", "created_by", "created_at", "expires_at", "used_at", "registration")
    readonly_fields = ("label", "created_by", "created_at", "expires_at", "used_at", "revoked_at", "registration")
    actions = ["revoke"]

    @admin.display(description=_("Status"))
    def state(self, obj: RegistrationInvitation) -> str:
        return str(RegistrationInvitation.Status(obj.status()).label)

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # an invitation is created, used or revoked, never edited

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        invitation, token = registry.invitation_create(
            label=form.cleaned_data["label"],
            days=form.cleaned_data["days"],
            created_by=request.user.get_username(),
            **request_origin(request),
        )
        for field in invitation._meta.concrete_fields:
            setattr(obj, field.attname, getattr(invitation, field.attname))
        obj._state.adding = False
        # Kept on this request only: the token is not stored, so this is the one time it can be shown.
        obj.registration_url = dynamic_registration.invitation_url(base=selectors.base_url(request), token=token)

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        return TemplateResponse(
            request,
            "lti/invitation_created.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Registration invitation created"),
                "invitation": obj,
                "url": obj.registration_url,
                "opts": self.opts,
            },
        )

    @admin.action(description=_("Revoke: the selected invitations stop working"))
    def revoke(self, request, queryset):  # type: ignore[no-untyped-def]
        origin = request_origin(request)
        revoked = [
            i
            for i in queryset
            if registry.invitation_revoke(invitation_id=i.pk, actor=request.user.get_username(), **origin)
        ]
        self.message_user(
            request,
            ngettext(
                "Revoked %(count)s invitation(s); used or already revoked ones are unchanged.",
                "Revoked %(count)s invitation(s); used or already revoked ones are unchanged.",
                len(revoked),
            )
            % {"count": len(revoked)},
        )


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "is_active", "created_at", "retired_at")
    readonly_fields = ("kid", "public_jwk", "is_active", "created_at", "retired_at")
    exclude = ("private_key_encrypted",)
    actions = ["rotate"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description=_("Rotate: make a new key active, keep the old one published for the overlap window"))
    def rotate(self, request, queryset):  # type: ignore[no-untyped-def]
        new = keys.key_rotate(actor=request.user.get_username())
        self.message_user(request, gettext("New active key %(kid)s.") % {"kid": new.kid})


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    list_display = ("__str__", "context_id", "registration", "deployment")
    search_fields = ("title", "context_id")


@admin.register(ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    list_display = ("__str__", "resource_link_id", "context")
    search_fields = ("title", "resource_link_id")


@admin.register(LtiUser)
class LtiUserAdmin(admin.ModelAdmin):
    list_display = ("__str__", "sub", "registration")
    # Names are encrypted: search finds a person by platform id, or by exact email / SIS id (blind index).
    search_fields = ("sub", "email__blind", "sis_id__blind")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "context", "is_active", "last_launch_at")
    list_filter = ("is_active",)
