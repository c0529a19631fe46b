from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "lms_tool.grading"
    label = "grading"
    default_auto_field = "django.db.models.BigAutoField"
