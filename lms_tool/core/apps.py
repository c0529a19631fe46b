from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lms_tool.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import audit_guard, checks  # noqa: F401 - the deploy checks; SQLite's audit-purge function
