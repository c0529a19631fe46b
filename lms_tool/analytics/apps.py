from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """What instructors learn from their course: results, item analysis, learners who need help."""

    name = "lms_tool.analytics"
    label = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import risk_hooks

        risk_hooks.register()
