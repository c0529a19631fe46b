from django import forms
from django.contrib import admin

from . import framing, keys
from .models import Context, Deployment, LtiUser, Membership, Registration, ResourceLink, ToolKey


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 0


class RegistrationForm(forms.ModelForm):
    def clean_frame_origins(self) -> list[str]:
        """A list of origins (``https://school.instructure.com``), normalised; each bad one named (docs/security.md)."""
        value = self.cleaned_data.get("frame_origins") or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError('Give a JSON list of origins, like ["https://school.instructure.com"].')
        errors, origins = [], []
        for item in value:
            try:
                origins.append(framing.origin_clean(item))
            except ValueError as exc:
                errors.append(str(exc))
        if len(set(origins)) > framing.MAX_FRAME_ORIGINS:
            errors.append(f"At most {framing.MAX_FRAME_ORIGINS} origins.")
        if errors:
            raise forms.ValidationError(errors)
        return list(dict.fromkeys(origins))


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    form = RegistrationForm
    list_display = ("__str__", "issuer", "client_id", "family", "deployment_policy", "is_active")
    list_filter = ("family", "is_active", "deployment_policy")
    search_fields = ("issuer", "client_id", "name")
    inlines = [DeploymentInline]


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "is_active", "created_at", "retired_at")
    readonly_fields = ("kid", "public_jwk", "is_active", "created_at", "retired_at")
    exclude = ("private_key_encrypted",)
    actions = ["rotate"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description="Rotate: make a new key active, keep the old one published for the overlap window")
    def rotate(self, request, queryset):  # type: ignore[no-untyped-def]
        new = keys.key_rotate(actor=request.user.get_username())
        self.message_user(request, f"New active key {new.kid}.")


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
