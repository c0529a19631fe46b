from django.apps import AppConfig


class XapiConfig(AppConfig):
    """Learning records: xAPI statements sent to each registration's Learning Record Store."""

    name = "lms_tool.xapi"
    label = "xapi"
    default_auto_field = "django.db.models.BigAutoField"
