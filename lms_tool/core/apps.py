from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CoreConfig(AppConfig):
    name = "lms_tool.core"
    label = "core"
    verbose_name = gettext_lazy("Core")  # the Django admin's heading
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import audit_guard, checks  # noqa: F401 - the deploy checks; SQLite's audit-purge function
