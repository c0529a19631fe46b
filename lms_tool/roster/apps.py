from django.apps import AppConfig


class RosterConfig(AppConfig):
    name = "lms_tool.roster"
    label = "roster"
    default_auto_field = "django.db.models.BigAutoField"
