from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "lms_tool.grading"
    label = "grading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.lti import hooks

        from .services import ags_endpoint_remember

        # Keep the launch's AGS endpoint (line items container, the link's line item) for passback.
        hooks.launch_recorded(lambda lti_launch: ags_endpoint_remember(launch=lti_launch))
