from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "lms_tool.lti"
    label = "lti"
    default_auto_field = "django.db.models.BigAutoField"
