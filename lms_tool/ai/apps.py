from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "lms_tool.ai"
    label = "ai"
    default_auto_field = "django.db.models.BigAutoField"
