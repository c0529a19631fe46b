from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "lms_tool.privacy"
    label = "privacy"
    default_auto_field = "django.db.models.BigAutoField"
